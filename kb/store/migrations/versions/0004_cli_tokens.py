"""cli tokens: personal tokens the CLI presents when cli_auth is 'token' (review.tokens)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 00:20:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('cli_tokens',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=128), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('cli_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cli_tokens_prefix'), ['prefix'], unique=False)
        batch_op.create_index(batch_op.f('ix_cli_tokens_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('cli_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cli_tokens_user_id'))
        batch_op.drop_index(batch_op.f('ix_cli_tokens_prefix'))

    op.drop_table('cli_tokens')

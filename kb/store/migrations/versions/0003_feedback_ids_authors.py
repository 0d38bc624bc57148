"""one feedback per requester and request; article ids unique ignoring case; the query
log's session_id; four-eyes authors carried over from unreviewed base versions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 00:35:00.000000

What happens to existing rows:

* feedback: where one requester gave several verdicts on one request, the latest
  (newest ``ts``, then highest ``id``) is kept and the others are deleted, as the API
  now does ("latest wins").
* articles: ids that differ only by case and already exist are kept as they are
  (renaming would break citations, query-log and index references); the unique index
  on ``lower(id)`` leaves out exactly those ids, and the migration names them in a
  warning. Every other id, and every new one, is unique ignoring case.
* article_versions: the ``editors`` of versions still in ``draft`` or ``in_review`` get
  the authors of the unreviewed versions they were based on (kb.store.articles
  .authors_building_on), so a re-save made before this upgrade cannot launder four-eyes.
"""
import logging
from collections import defaultdict
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

logger = logging.getLogger("alembic.runtime.migration")

EVER_PUBLISHED = ("published", "superseded", "archived")
AWAITING_REVIEW = ("draft", "in_review")


def upgrade() -> None:
    """Upgrade schema."""
    bind = op.get_bind()
    _keep_latest_feedback(bind)
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index(
            'uq_feedback_request_given_by', ['request_id', 'given_by'], unique=True
        )
    with op.batch_alter_table('query_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_id', sa.String(length=128), nullable=True))
    twins = _case_twins(bind)
    if twins:
        logger.warning(
            "article ids that differ only by case are kept as they are (rename or archive "
            "one of each pair): %s", ", ".join(twins)
        )
    op.create_index(
        'uq_articles_id_lower',
        'articles',
        [sa.text('lower(id)')],
        unique=True,
        sqlite_where=_not_in(twins),
        postgresql_where=_not_in(twins),
    )
    _carry_authors_over(bind)


def downgrade() -> None:
    """Downgrade schema (deleted duplicate feedback and merged authors stay as they are)."""
    op.drop_index('uq_articles_id_lower', table_name='articles')
    # Not batch mode: re-creating query_log would break feedback's foreign key on SQLite;
    # SQLite >= 3.35 drops a column in place.
    op.drop_column('query_log', 'session_id')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index('uq_feedback_request_given_by')


def _keep_latest_feedback(bind) -> None:
    """Delete all but the latest feedback of each (request_id, given_by)."""
    rows = bind.execute(
        sa.text("SELECT id, request_id, given_by FROM feedback ORDER BY ts, id")
    ).all()
    latest: dict[tuple[str, str], int] = {}
    for row_id, request_id, given_by in rows:
        latest[(request_id, given_by)] = row_id
    keep = set(latest.values())
    doomed = [row_id for row_id, _r, _g in rows if row_id not in keep]
    for start in range(0, len(doomed), 500):
        bind.execute(
            sa.text("DELETE FROM feedback WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": doomed[start : start + 500]},
        )


def _case_twins(bind) -> list[str]:
    """Existing article ids that equal another id ignoring case, sorted."""
    groups: dict[str, list[str]] = defaultdict(list)
    for (article_id,) in bind.execute(sa.text("SELECT id FROM articles")):
        groups[article_id.lower()].append(article_id)
    return sorted(i for ids in groups.values() if len(ids) > 1 for i in ids)


def _not_in(ids: list[str]):
    """The partial-index condition leaving out ``ids`` (None: a full index)."""
    if not ids:
        return None
    quoted = ", ".join("'" + i.replace("'", "''") + "'" for i in ids)
    return sa.text(f"id NOT IN ({quoted})")


def _carry_authors_over(bind) -> None:
    """Give versions awaiting review the authors of the unreviewed versions they build on."""
    versions = sa.table(
        'article_versions',
        sa.column('id', sa.Integer),
        sa.column('article_id', sa.String),
        sa.column('version', sa.Integer),
        sa.column('state', sa.String),
        sa.column('based_on', sa.Integer),
        sa.column('editors', sa.JSON),
    )
    query = sa.select(versions).order_by(versions.c.article_id, versions.c.version)
    authors: dict[tuple[str, int], list[str]] = {}
    states: dict[tuple[str, int], str] = {}
    for row in bind.execute(query):
        names = list(row.editors or [])
        base = (row.article_id, row.based_on)
        if base in authors and states[base] not in EVER_PUBLISHED:
            names += [n for n in authors[base] if n not in names]
        authors[(row.article_id, row.version)] = names
        states[(row.article_id, row.version)] = row.state
        if row.state in AWAITING_REVIEW and names != list(row.editors or []):
            bind.execute(
                versions.update().where(versions.c.id == row.id).values(editors=names)
            )

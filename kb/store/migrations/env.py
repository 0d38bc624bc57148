"""Alembic environment: runs kb's migrations on the engine given by kb.store.db."""

from alembic import context

from kb.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    """Run migrations online, on the engine kb.store.db passed in (or one from the URL)."""
    engine = config.attributes.get("engine")
    if engine is None:
        from kb.store.db import make_engine

        url = config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError("kb migrations need an engine or sqlalchemy.url")
        engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()

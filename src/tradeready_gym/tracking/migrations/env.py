"""Alembic environment of the local tracking store.

`tradeready_gym.tracking.store.Store` runs the migrations with its own connection, passed in
``config.attributes["connection"]``; the version table is ``tradeready_tracking_version``.
"""

from __future__ import annotations

from alembic import context

from tradeready_gym.tracking.models import Base, LocalBase

VERSION_TABLE = "tradeready_tracking_version"
target_metadata = [Base.metadata, LocalBase.metadata]


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        from sqlalchemy import create_engine

        url = context.config.get_main_option("sqlalchemy.url") or ""
        engine = create_engine(url)
        with engine.begin() as conn:
            context.configure(connection=conn, target_metadata=target_metadata, version_table=VERSION_TABLE,
                              render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
        engine.dispose()
        return
    context.configure(connection=connection, target_metadata=target_metadata, version_table=VERSION_TABLE,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()

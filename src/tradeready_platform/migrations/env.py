"""Alembic environment of the platform server (version table ``tradeready_platform_version``).

The target metadata is the shared tracking `Base` with the platform tables registered on it.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import tradeready_platform.models  # noqa: F401  (registers the platform tables on Base)
from tradeready_gym.tracking.models import Base

VERSION_TABLE = "tradeready_platform_version"
target_metadata = Base.metadata


def _configure_and_run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as conn:
            _configure_and_run(conn)
    finally:
        engine.dispose()


run_migrations_online()

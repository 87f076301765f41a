"""Database engine, sessions and migrations of the platform server.

SQLite (default) runs in WAL mode with a busy timeout and foreign keys on; PostgreSQL is used
through ``postgresql+psycopg://...`` (a plain ``postgresql://`` URL is given the psycopg driver).
Migrations are the Alembic scripts in ``tradeready_platform/migrations`` (version table
``tradeready_platform_version``); `migrate` runs them under a file lock next to a SQLite file, so
several server processes starting at once migrate once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["VERSION_TABLE", "Database", "alembic_config", "make_engine", "migrate", "normalize_url"]

log = logging.getLogger(__name__)

VERSION_TABLE = "tradeready_platform_version"
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def normalize_url(url: str) -> str:
    """``url`` with the psycopg driver for PostgreSQL; SQLite files get their folder created."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        Path(u.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return u.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    """A SQLAlchemy engine for ``url`` with the platform's connection settings."""
    url = normalize_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def alembic_config(url: str) -> Any:
    """An Alembic `Config` over the platform's migration scripts for ``url``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision`` (under a file lock for SQLite files)."""
    from alembic import command

    url = normalize_url(url)
    u = make_url(url)
    cfg = alembic_config(url)
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        from filelock import FileLock

        with FileLock(str(Path(u.database).expanduser()) + ".migrate.lock", timeout=120):
            command.upgrade(cfg, revision)
    else:
        command.upgrade(cfg, revision)


class Database:
    """The engine and session factory of one server.

    Args:
        url: SQLAlchemy URL.
        run_migrations: upgrade to the newest revision first.
    """

    def __init__(self, url: str, *, run_migrations: bool = True) -> None:
        self.url = normalize_url(url)
        if run_migrations:
            migrate(self.url)
        self.engine = make_engine(self.url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on error."""
        with self.sessionmaker() as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

"""Fixtures of the tracking tests: a private store folder per test and small real-candle envs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ``TRADEREADY_HOME`` for this test (its own tracking store)."""
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("TRADEREADY_HOME", str(h))
    return h


@pytest.fixture
def small_market(btc_1h):
    """Two months of real BTCUSDT 1h candles."""
    return btc_1h.slice("2024-01-01", "2024-03-01")


def child_env() -> dict[str, str]:
    """Environment of a child Python process (the parent's, with the package importable)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO / "tests"), env.get("PYTHONPATH", "")])
    env["PYTHONUNBUFFERED"] = "1"
    return env


PYTHON = sys.executable


PG_ENV = "TRADEREADY_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path):
    """A fresh, empty tracking database: a SQLite file, or a new PostgreSQL database (dropped afterwards).

    PostgreSQL comes from ``TRADEREADY_TEST_POSTGRES_URL`` (a role allowed to create databases); without it
    the PostgreSQL variant is skipped, except in CI (``CI=true``), where it fails.
    """
    if request.param == "sqlite":
        yield str(tmp_path / "t.sqlite")
        return
    base = os.environ.get(PG_ENV)
    if not base:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{PG_ENV} is not set in CI: PostgreSQL must be available")
        pytest.skip(f"{PG_ENV} not set")
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(base)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    name = f"tr_track_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        pytest.fail(f"PostgreSQL at {PG_ENV} is not usable: {exc}")
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

"""Fixtures of the tracking tests: a private store folder per test and small real-candle envs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pg_support import postgres_database

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


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path):
    """A fresh, empty tracking database: a SQLite file, or a new PostgreSQL database (dropped afterwards;
    `pg_support.postgres_database`: skipped without ``TRADEREADY_TEST_POSTGRES_URL``, except in CI)."""
    if request.param == "sqlite":
        yield str(tmp_path / "t.sqlite")
        return
    with postgres_database("tr_track") as url:
        yield url

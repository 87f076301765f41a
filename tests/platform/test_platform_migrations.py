"""Alembic migrations: from empty, from the previous revision (data kept), down again, and no drift
between the models and the migrations (autogenerate finds nothing)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from platform_support import database_url
from sqlalchemy import inspect, text

import tradeready_platform.models  # noqa: F401
from tradeready_gym.tracking.models import Base
from tradeready_platform.db import VERSION_TABLE, alembic_config, make_engine, migrate

pytest_plugins = ["platform_support"]


def _revision(url: str) -> str | None:
    eng = make_engine(url)
    try:
        with eng.connect() as c:
            return MigrationContext.configure(c, opts={"version_table": VERSION_TABLE}).get_current_revision()
    finally:
        eng.dispose()


def test_revisions_form_one_chain() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    heads = script.get_heads()
    assert heads == ["p0002"]
    assert [r.revision for r in script.walk_revisions()] == ["p0002", "p0001"]


def test_from_empty_to_head_without_drift(db_kind: str, tmp_path: Path) -> None:
    with database_url(db_kind, tmp_path) as url:
        migrate(url)
        assert _revision(url) == "p0002"
        eng = make_engine(url)
        try:
            with eng.connect() as c:
                mc = MigrationContext.configure(c, opts={"compare_type": True, "version_table": VERSION_TABLE})
                diff = compare_metadata(mc, Base.metadata)
                tables = set(inspect(c).get_table_names())
        finally:
            eng.dispose()
        assert diff == [], diff
        assert {"runs", "episodes", "scalars", "traces", "accounts", "api_keys", "backtest_sessions"} <= tables
        assert "outbox" not in tables  # the local store's own table
        migrate(url)  # a second run is a no-op
        assert _revision(url) == "p0002"


def test_from_previous_revision_keeps_data_and_downgrades(db_kind: str, tmp_path: Path) -> None:
    with database_url(db_kind, tmp_path) as url:
        migrate(url, "p0001")
        assert _revision(url) == "p0001"
        eng = make_engine(url)
        try:
            with eng.begin() as c:
                assert "backtest_sessions" not in inspect(c).get_table_names()
                c.execute(text("INSERT INTO accounts (id, display_name, created_at) VALUES (1, 'old', '2026-01-01')"))
                c.execute(text("INSERT INTO api_keys (account_id, prefix, key_hash, name, created_at) "
                               "VALUES (1, 'ak_live_abcdefgh', :h, 'k', '2026-01-01')"), {"h": "0" * 64})
                c.execute(text("INSERT INTO runs (id, account_id, mode, status, created_at, episodes_completed, "
                               "total_steps) VALUES ('r1', 1, 'train', 'running', '2026-01-01', 1, 10)"))
                c.execute(text("INSERT INTO episodes (run_id, episode, env_index, length, terminated, truncated) "
                               "VALUES ('r1', 1, 0, 10, true, false)"))
            migrate(url)
            assert _revision(url) == "p0002"
            with eng.connect() as c:
                assert c.execute(text("SELECT display_name FROM accounts")).scalar_one() == "old"
                assert c.execute(text("SELECT count(*) FROM episodes WHERE run_id = 'r1'")).scalar_one() == 1
                assert "backtest_sessions" in inspect(c).get_table_names()
            eng.dispose()
            command.downgrade(alembic_config(url), "p0001")
            assert _revision(url) == "p0001"
            with eng.connect() as c:
                assert "backtest_sessions" not in inspect(c).get_table_names()
                assert c.execute(text("SELECT count(*) FROM runs")).scalar_one() == 1
            eng.dispose()
            command.downgrade(alembic_config(url), "base")
            with eng.connect() as c:
                assert not {"runs", "accounts"} & set(inspect(c).get_table_names())
        finally:
            eng.dispose()

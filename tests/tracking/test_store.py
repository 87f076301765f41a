"""The tracking store: migrations (no drift), idempotent writes, reads, traces, stale status.

Tests taking ``store_url`` run on SQLite and on PostgreSQL (``TRADEREADY_TEST_POSTGRES_URL``).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import MetaData

from tradeready_gym.tracking.models import Base, LocalBase, effective_status
from tradeready_gym.tracking.store import HEAD_REVISION, Store, default_store_path
from tradeready_gym.tracking.traces import decode_trace, encode_trace, positions_from_fills


def test_migrations_head_matches_scripts_and_models(store_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    import tradeready_gym.tracking.store as store_mod

    scripts = ScriptDirectory(str(Path(store_mod.__file__).with_name("migrations")))
    assert scripts.get_current_head() == HEAD_REVISION
    store = Store(store_url)
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": "tradeready_tracking_version"})
        assert ctx.get_current_revision() == HEAD_REVISION
        combined = MetaData()
        # only the store's tables: the platform server puts more tables on the same Base
        for table in [*Base.metadata.tables.values(), *LocalBase.metadata.tables.values()]:
            if table.name in ("runs", "episodes", "scalars", "traces", "outbox"):
                table.to_metadata(combined)
        diff = compare_metadata(ctx, combined)
    assert diff == []


def test_sqlite_settings(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.sqlite")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 60000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    # a second open sees the migrated schema and does not migrate again
    again = Store(tmp_path / "t.sqlite")
    assert again._revision() == HEAD_REVISION
    raw = sqlite3.connect(tmp_path / "t.sqlite")
    tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "episodes", "scalars", "traces", "outbox", "tradeready_tracking_version"} <= tables


def test_default_path_follows_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEREADY_HOME", str(tmp_path / "home"))
    assert default_store_path() == tmp_path / "home" / "tracking.sqlite"


def test_episode_upserts_are_idempotent(store_url: str) -> None:
    store = Store(store_url)
    store.upsert_run({"id": "r1", "name": "a", "config": {"x": 1}})
    store.record_episodes("r1", [{"episode": 1, "roi_pct": 1.0, "win_rate": 0.5}, {"episode": 2, "roi_pct": 2.0}],
                          total_steps=20)
    store.record_episodes("r1", [{"episode": 2, "roi_pct": 2.0}], total_steps=10)  # a retry
    run = store.get_run("r1")
    assert run is not None
    assert run["episodes_completed"] == 2
    assert run["total_steps"] == 20
    eps = store.episodes("r1")
    assert [e["episode"] for e in eps] == [1, 2]
    assert eps[0]["extra"] == {"win_rate": 0.5}
    assert store.episodes("r1", after=1)[0]["episode"] == 2
    # re-registering keeps counters and creation time
    store.upsert_run({"id": "r1", "name": "b"})
    run2 = store.get_run("r1")
    assert run2 is not None and run2["name"] == "b" and run2["episodes_completed"] == 2
    assert run2["created_at"] == run["created_at"]


def test_scalars_and_outbox_dedup(store_url: str) -> None:
    store = Store(store_url)
    store.upsert_run({"id": "r1"})
    store.upsert_scalars("r1", [{"key": "train/loss", "step": 1, "value": 0.5}, {"key": "train/loss", "step": 2, "value": 0.4}])
    store.upsert_scalars("r1", [{"key": "train/loss", "step": 2, "value": 0.3}])
    assert [s["value"] for s in store.scalars("r1", "train/loss")] == [0.5, 0.3]
    store.enqueue("r1", [{"kind": "run", "dedup_key": "run:r1", "payload": {"a": 1}}])
    store.enqueue("r1", [{"kind": "run", "dedup_key": "run:r1", "payload": {"a": 2}}])
    pend = store.pending()
    assert len(pend) == 1 and pend[0]["payload"] == {"a": 1}
    store.mark_failed(pend[0]["id"], "down", dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    assert store.pending() == []
    assert len(store.pending(due_only=False)) == 1
    store.mark_delivered([pend[0]["id"]])
    assert store.outbox_counts() == {"pending": 0, "delivered": 1}


def test_stale_is_computed(store_url: str) -> None:
    store = Store(store_url)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    store.upsert_run({"id": "r1", "created_at": old, "heartbeat_at": old})
    store.upsert_run({"id": "r2"})
    store.upsert_run({"id": "r3", "created_at": old, "heartbeat_at": old, "status": "finished"})
    status = {r["id"]: r["status"] for r in store.list_runs()}
    assert status == {"r1": "stale", "r2": "running", "r3": "finished"}
    assert [r["id"] for r in store.list_runs(status="stale")] == ["r1"]
    assert store.get_run("r1")["stored_status"] == "running"  # type: ignore[index]
    store.heartbeat(["r1", "r3"])
    assert store.get_run("r1")["status"] == "running"  # type: ignore[index]
    assert effective_status("running", old, stale_after=1e9) == "running"


def test_trace_roundtrip_and_positions(store_url: str) -> None:
    times = np.array([10, 20, 30, 40], dtype=np.int64)
    fills = [{"symbol": "BTCUSDT", "side": "buy", "quantity": 2.0, "time": 15},
             {"symbol": "BTCUSDT", "side": "sell", "quantity": 0.5, "time": 30}]
    pos = positions_from_fills(times, fills, ["BTCUSDT"], int)
    np.testing.assert_array_equal(pos[:, 0], [0.0, 2.0, 1.5, 1.5])
    data = encode_trace(times=times, closes=np.array([1.0, 2, 3, 4]), equity=np.array([5.0, 6, 7, float("nan")]),
                        position=pos, fills=fills, symbols=["BTCUSDT"], meta={"episode": 3, "x": float("inf")})
    out = decode_trace(data)
    np.testing.assert_array_equal(out["times"], times)
    np.testing.assert_array_equal(out["closes"][:, 0], [1, 2, 3, 4])
    assert np.isnan(out["equity"][3])
    assert out["fills"] == fills and out["meta"] == {"episode": 3, "x": None}
    with pytest.raises(ValueError, match="TRT1"):
        decode_trace(b"nope")
    store = Store(store_url)
    store.upsert_run({"id": "r1"})
    store.record_episodes("r1", [{"episode": 1}], traces=[{"episode": 1, "reasons": "first", "data": data}])
    assert store.traces("r1")[0]["reasons"] == "first"
    assert store.trace("r1", 1)["reasons"] == "first"  # type: ignore[index]
    store.record_episodes("r1", [], drop_traces=[1])
    assert store.traces("r1") == [] and store.trace("r1", 1) is None


def test_stores_opened_by_several_threads_at_once(tmp_path: Path) -> None:
    import threading

    errors: list[BaseException] = []

    def open_one(i: int) -> None:
        try:
            Store(tmp_path / f"s{i % 3}.sqlite").upsert_run({"id": f"r{i}"})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one, args=(i,)) for i in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert sum(len(Store(tmp_path / f"s{k}.sqlite").list_runs()) for k in range(3)) == 9


def test_episodes_refresh_the_heartbeat_of_running_runs_only(store_url: str) -> None:
    store = Store(store_url)
    old = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    store.upsert_run({"id": "run", "created_at": old, "heartbeat_at": old})
    store.upsert_run({"id": "done", "created_at": old, "heartbeat_at": old, "status": "failed"})
    for rid in ("run", "done"):
        store.record_episodes(rid, [{"episode": 1, "roi_pct": 1.0}])
    fresh = dt.datetime.fromisoformat(store.get_run("run")["heartbeat_at"].replace("Z", "+00:00"))  # type: ignore[index]
    assert (dt.datetime.now(dt.UTC) - fresh).total_seconds() < 60
    assert store.get_run("done")["heartbeat_at"] == "2026-01-01T00:00:00Z"  # type: ignore[index]
    assert store.get_run("done")["episodes_completed"] == 1  # type: ignore[index]


def test_tracker_writes_through_the_generic_upsert_path(store_url: str, small_market) -> None:
    """A tracked env's run, episodes and traces through the writer thread (PostgreSQL: ``ON CONFLICT`` upserts
    of plain rows instead of SQLite's prepared statement); a replayed report stays one row."""
    from tradeready_gym.envs.presets import make_historical_env
    from tradeready_gym.tracking import TrainingTracker
    from tradeready_gym.tracking.tracker import attach_tracker

    env = make_historical_env(data=small_market, episode_length=24, track_training=False)
    tracker = attach_tracker(env, TrainingTracker(store=store_url, trace_every=2, flush_interval_s=0.05))
    env.reset(seed=0)
    done = 0
    while done < 4:
        _o, _r, term, trunc, _i = env.step(env.action_space.sample())
        if term or trunc:
            done += 1
            env.reset()
    env.close()
    store = Store(store_url)
    run = store.get_run(tracker.run_id)
    assert run is not None and run["status"] == "finished" and run["episodes_completed"] == 4
    assert run["total_steps"] == 4 * 24
    eps = store.episodes(tracker.run_id)
    assert [e["episode"] for e in eps] == [1, 2, 3, 4] and all(e["length"] == 24 for e in eps)
    reasons = {t["episode"]: t["reasons"] for t in store.traces(tracker.run_id)}
    assert "first" in reasons[1] and "every_k" in reasons[2] and "every_k" in reasons[4] and "last" in reasons[4]
    tr = store.trace(tracker.run_id, 4)
    assert tr is not None and tr["equity"].shape == (25,)
    store.record_episodes(tracker.run_id, [{"episode": 4, "roi_pct": eps[3]["roi_pct"], "length": 24}])
    assert len(store.episodes(tracker.run_id)) == 4

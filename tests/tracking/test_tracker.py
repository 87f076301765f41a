"""TrainingTracker embedded in the envs: runs, episodes, config, traces, status, heartbeat."""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from tradeready_gym.envs.presets import make_historical_env, make_historical_vector_env
from tradeready_gym.errors import ConfigError
from tradeready_gym.tracking import Store, TrainingTracker
from tradeready_gym.tracking.tracker import attach_tracker, redact


def _play(env, episodes: int, seed: int = 0) -> list[dict]:
    """Random actions until ``episodes`` episodes finished; returns each terminal info's episode_metrics."""
    rng = np.random.default_rng(seed)
    out = []
    env.reset(seed=seed)
    rsum = 0.0
    while len(out) < episodes:
        _, r, te, tr, info = env.step(int(rng.integers(3)))
        rsum += r
        if te or tr:
            m = info["episode_metrics"]
            assert m["reward_sum"] == pytest.approx(rsum, rel=1e-9, abs=1e-6)
            out.append(m)
            rsum = 0.0
            env.reset()
    return out


def test_env_records_a_run_with_every_episode(home: Path, small_market) -> None:
    env = make_historical_env(data=small_market, episode_length=30, random_start=True, strategy_label="sma",
                              api_key="ak_live_secret")
    metrics = _play(env, 7)
    tracker = env._tracking
    env.close()
    store = Store(home / "tracking.sqlite")
    runs = store.list_runs()
    assert len(runs) == 1
    run = runs[0]
    assert run["id"] == tracker.run_id
    assert run["status"] == "finished" and run["completed_at"] is not None
    assert run["strategy_label"] == "sma" and run["episodes_completed"] == 7 and run["total_steps"] == 7 * 30
    assert run["config"]["api_key"] == "***"
    assert "ak_live_secret" not in str(run)
    assert run["config"]["episode_length"] == 30 and run["config"]["symbols"] == ["BTCUSDT"]
    assert run["library_version"]
    eps = store.episodes(run["id"])
    assert [e["episode"] for e in eps] == list(range(1, 8))
    for e, m in zip(eps, metrics, strict=True):
        assert e["roi_pct"] == pytest.approx(m["roi_pct"])
        assert e["reward_sum"] == pytest.approx(m["reward_sum"])
        assert e["trades"] == m["trades"] and e["length"] == 30
        assert e["final_equity"] == pytest.approx(m["final_equity"])
        assert e["extra"]["win_rate"] == (None if np.isnan(m["win_rate"]) else pytest.approx(m["win_rate"]))
        assert e["truncated"] and not e["terminated"]
        assert e["data_start"] < e["data_end"]
    assert eps[-1]["global_step"] == 7 * 30
    # traces: first, best, worst (by ROI) and last
    rois = [m["roi_pct"] for m in metrics]
    traced = {t["episode"]: set(t["reasons"].split(",")) for t in store.traces(run["id"])}
    assert "first" in traced[1] and "last" in traced[7]
    assert "best" in traced[int(np.argmax(rois)) + 1] and "worst" in traced[int(np.argmin(rois)) + 1]
    assert set().union(*traced.values()) == {"first", "last", "best", "worst"}
    tr = store.trace(run["id"], 7)
    assert tr is not None
    assert tr["equity"].shape == (31,) and tr["equity"][-1] == pytest.approx(metrics[-1]["final_equity"])
    assert tr["closes"].shape == (31, 1) and np.all(np.diff(tr["times"]) == 3_600_000_000_000)
    held = tr["position"][-1, 0]
    fills = tr["fills"]
    assert held == pytest.approx(sum(f["quantity"] * (1 if f["side"] == "buy" else -1) for f in fills), abs=1e-9)
    # the journal of a closed run is gone
    assert list((home / "tracking-journal").glob("*.jsonl")) == []


def test_every_kth_trace_and_trace_every_zero(home: Path, small_market) -> None:
    env = make_historical_env(data=small_market, episode_length=10, track_training=False)
    attach_tracker(env, TrainingTracker(trace_every=3))
    _play(env, 9)
    env.close()
    store = Store(home / "tracking.sqlite")
    rid = store.list_runs()[0]["id"]
    every = [t["episode"] for t in store.traces(rid) if "every_k" in t["reasons"]]
    assert every == [3, 6, 9]


def test_track_training_false_records_nothing(home: Path, small_market) -> None:
    env = make_historical_env(data=small_market, episode_length=10, track_training=False)
    assert env._tracking is None
    _play(env, 2)
    env.close()
    assert not (home / "tracking.sqlite").exists()


def test_registered_id_tracks_by_default(home: Path, small_market) -> None:
    env = gym.make("TradeReady-BTC-v0", data=small_market, episode_length=10)
    _play(env, 2)
    env.close()
    run = Store(home / "tracking.sqlite").list_runs()[0]
    assert run["env_id"] == "TradeReady-BTC-v0" and run["episodes_completed"] == 2


def test_vector_env_is_one_run(home: Path, small_market) -> None:
    venv = make_historical_vector_env(3, data=small_market, episode_length=12, autoreset_mode="next_step")
    venv.reset(seed=0)
    rng = np.random.default_rng(1)
    finished = []
    for _ in range(40):
        _, _, te, tr, info = venv.step(rng.integers(3, size=3))
        if "episode_metrics" in info:
            mask = info["_episode_metrics"]
            assert np.array_equal(mask, te | tr)
            finished += [(int(i), float(info["episode_metrics"]["roi_pct"][i])) for i in np.flatnonzero(mask)]
            assert np.isnan(info["episode_metrics"]["roi_pct"][~mask]).all()
    venv.close()
    store = Store(home / "tracking.sqlite")
    runs = store.list_runs()
    assert len(runs) == 1 and runs[0]["config"]["num_envs"] == 3 and runs[0]["status"] == "finished"
    eps = store.episodes(runs[0]["id"])
    assert len(eps) == len(finished) == 9
    assert sorted((e["env_index"], round(e["roi_pct"], 9)) for e in eps) == sorted(
        (i, round(r, 9)) for i, r in finished)


def test_same_step_final_info_carries_metrics(home: Path, small_market) -> None:
    venv = make_historical_vector_env(2, data=small_market, episode_length=5, autoreset_mode="same_step",
                                      track_training=False)
    venv.reset(seed=0)
    for _ in range(5):
        _, _, te, tr, info = venv.step(np.array([1, 0]))
    assert (te | tr).all()
    em = info["final_info"]["episode_metrics"]
    assert info["final_info"]["_episode_metrics"].all()
    assert em["length"].tolist() == [5, 5] and em["trades"][1] == 0 and em["trades"][0] >= 1
    assert em["final_equity"][1] == pytest.approx(10_000.0)
    assert "episode_metrics" not in info  # the new episodes' info


def test_close_inside_an_exception_marks_failed(home: Path, small_market) -> None:
    env = make_historical_env(data=small_market, episode_length=10)
    with pytest.raises(RuntimeError):
        try:
            _play(env, 1)
            raise RuntimeError("boom")
        finally:
            env.close()
    run = Store(home / "tracking.sqlite").list_runs()[0]
    assert run["status"] == "failed" and "boom" in run["summary"]["error"]
    assert run["episodes_completed"] == 1


def test_stale_status_from_heartbeat(home: Path, small_market) -> None:
    env = make_historical_env(data=small_market, episode_length=10)
    _play(env, 1)
    tracker = env._tracking
    assert tracker.flush()
    store = Store(home / "tracking.sqlite")
    assert store.get_run(tracker.run_id)["status"] == "running"
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    store.update_run(tracker.run_id, heartbeat_at=old)
    assert store.get_run(tracker.run_id)["status"] == "stale"
    assert store.get_run(tracker.run_id)["stored_status"] == "running"
    _play(env, 1)  # a new commit refreshes the heartbeat
    assert tracker.flush()
    assert store.get_run(tracker.run_id)["status"] == "running"
    env.close()
    assert store.get_run(tracker.run_id)["status"] == "finished"


def test_manual_reports_are_idempotent(home: Path) -> None:
    t = TrainingTracker(strategy_label="manual", config={"token": "x", "lr": 0.1})
    t.report_episode(1, {"roi_pct": 1.0, "sharpe_ratio": 0.5, "total_trades": 3})
    t.report_episode(1, {"roi_pct": 2.0})
    t.report_episode(2, {"roi_pct": 3.0})
    t.log_scalars([{"key": "train/loss", "step": 10, "value": 0.25}])
    t.close()
    store = Store(home / "tracking.sqlite")
    eps = store.episodes(t.run_id)
    assert [(e["episode"], e["roi_pct"]) for e in eps] == [(1, 2.0), (2, 3.0)]
    run = store.get_run(t.run_id)
    assert run["episodes_completed"] == 2 and run["config"] == {"token": "***", "lr": 0.1}
    assert store.scalars(t.run_id)[0]["value"] == 0.25


def test_bad_settings_name_the_parameter() -> None:
    with pytest.raises(ConfigError, match="mode"):
        TrainingTracker(mode="live")
    with pytest.raises(ConfigError, match="trace_every"):
        TrainingTracker(trace_every=-1)
    with pytest.raises(ConfigError, match="run_id"):
        TrainingTracker(run_id="nope")
    with pytest.raises(ConfigError, match="status"):
        TrainingTracker().complete_run("done")


def test_redact_nested() -> None:
    out = redact({"api_key": "k", "nested": {"secret_token": "s", "x": [1, float("nan")]}, "p": Path("/a")})
    assert out == {"api_key": "***", "nested": {"secret_token": "***", "x": [1, None]}, "p": "/a"}


def test_copied_env_is_a_new_run(home: Path, small_market) -> None:
    import copy

    env = make_historical_env(data=small_market, episode_length=10)
    env.reset(seed=0)
    twin = copy.deepcopy(env._tracking)
    assert twin.run_id != env._tracking.run_id and not twin.registered
    env.close()


def test_import_does_not_load_sqlalchemy() -> None:
    import subprocess

    code = ("import sys, tradeready_gym, tradeready_gym.tracking; "
            "from tradeready_gym.envs import presets; "
            "assert 'sqlalchemy' not in sys.modules and 'alembic' not in sys.modules, 'loaded'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_dropped_env_completes_its_run_and_is_freed(home: Path, small_market) -> None:
    import gc
    import weakref

    env = make_historical_env(data=small_market, episode_length=10)
    _play(env, 2)
    run_id = env._tracking.run_id
    ref = weakref.ref(env)
    del env
    gc.collect()
    assert ref() is None  # the tracker does not keep the env alive
    store = Store(home / "tracking.sqlite")
    deadline = time.monotonic() + 30
    while (run := store.get_run(run_id)) is None or run["stored_status"] != "finished":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert store.get_run(run_id)["episodes_completed"] == 2
    assert list((home / "tracking-journal").glob("*.jsonl")) == []


def test_unwritable_home_never_stops_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_market) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("TRADEREADY_HOME", str(blocker / "home"))  # cannot be created
    env = make_historical_env(data=small_market, episode_length=10)
    metrics = _play(env, 3)
    assert len(metrics) == 3
    start = time.monotonic()
    env.close()
    assert time.monotonic() - start < 10


def test_journal_starts_over_once_committed(home: Path, small_market, monkeypatch: pytest.MonkeyPatch) -> None:
    import tradeready_gym.tracking.tracker as tracker_mod
    from tradeready_gym.tracking.tracker import _read_journal

    monkeypatch.setattr(tracker_mod, "_JOURNAL_ROTATE_BYTES", 3000)
    env = make_historical_env(data=small_market, episode_length=5, track_training=False)
    t = attach_tracker(env, TrainingTracker(flush_interval_s=3600.0))
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    sizes = []
    while t.episodes < 60:
        _, _, te, tr, _ = env.step(int(rng.integers(3)))
        if te or tr:
            env.reset()
            if t.episodes % 10 == 0:
                assert t.flush()
                sizes.append(t._journal_path.stat().st_size)
    assert max(sizes) < 3000 + 12 * 172 + 2000  # started over instead of growing
    head, rows = _read_journal(t._journal_path)
    assert head is not None and head["row"]["id"] == t.run_id
    assert all(r["episode"] > 40 for r in rows)  # only the records written since the last start-over
    env.close()
    assert [e["episode"] for e in Store(home / "tracking.sqlite").episodes(t.run_id)] == list(range(1, 61))


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_vector_env_records_sampled_traces(home: Path, small_market, mode: str) -> None:
    """A vector env's run keeps the first, every k-th, best, worst and last episode's trace; each trace is
    the episode the env played (its equity after every step, its decision times and fills)."""
    n, length = 3, 12
    venv = make_historical_vector_env(n, data=small_market, episode_length=length, autoreset_mode=mode,
                                      random_start=True, track_training=False, info_details=True)
    tracker = attach_tracker(venv, TrainingTracker(trace_every=4, flush_interval_s=0.05))
    venv.reset(seed=3)
    rng = np.random.default_rng(5)
    pending = np.zeros(n, dtype=bool)  # next_step: the step after the end resets the env
    cur: list[list[float]] = [[] for _ in range(n)]
    cur_fills: list[list[dict]] = [[] for _ in range(n)]
    played: list[tuple[int, list[float]]] = []  # (env index, equity after each step), in episode order
    played_fills: list[list[dict]] = []
    for _ in range(60):
        _, _, te, tr, info = venv.step(rng.integers(3, size=n))
        last = info["final_info"] if mode == "same_step" and "final_info" in info else info
        for i in range(n):
            if not pending[i]:
                cur[i].append(float(last["equity"][i]))
                cur_fills[i] += last["details"][i]["filled_orders"]
        done = te | tr
        for i in np.flatnonzero(done):
            played.append((int(i), cur[i]))
            played_fills.append(cur_fills[i])
            cur[i], cur_fills[i] = [], []
        pending = done if mode == "next_step" else np.zeros(n, dtype=bool)
    venv.close()
    store = Store(home / "tracking.sqlite")
    rid = tracker.run_id
    eps = {e["episode"]: e for e in store.episodes(rid)}
    assert len(eps) == len(played) >= 12
    traces = {t["episode"]: set(t["reasons"].split(",")) for t in store.traces(rid)}
    rois = {k: e["roi_pct"] for k, e in eps.items()}
    best, worst, last = max(rois, key=lambda k: rois[k]), min(rois, key=lambda k: rois[k]), max(eps)
    assert "first" in traces[1] and "last" in traces[last]
    assert "best" in traces[best] and "worst" in traces[worst]
    assert all("every_k" in traces[k] for k in eps if k % 4 == 0)
    assert all(k in (1, best, worst, last) or k % 4 == 0 for k in traces)
    for k in traces:
        env_index, equity = played[k - 1]
        e = eps[k]
        assert e["env_index"] == env_index
        tr = store.trace(rid, k)
        assert tr is not None and tr["meta"]["env_index"] == env_index
        assert tr["equity"].shape == (length + 1,)
        assert tr["equity"][0] == pytest.approx(10_000.0)
        np.testing.assert_allclose(tr["equity"][1:], equity, rtol=0, atol=1e-9)
        assert tr["equity"][-1] == pytest.approx(e["final_equity"], abs=1e-9)
        assert str(np.datetime64(int(tr["times"][0]), "ns"))[:19] == e["data_start"][:19]
        assert str(np.datetime64(int(tr["times"][-1]), "ns"))[:19] == e["data_end"][:19]
        held = tr["position"][:, 0]
        assert (np.abs(np.diff(held)) > 0).sum() <= len(tr["fills"])
        assert (len(tr["fills"]) > 0) == (e["trades"] > 0)
        assert tr["fills"] == played_fills[k - 1]  # the fills the env reported, in order
    assert sum(len(played_fills[k - 1]) for k in traces) > 0


def test_dashboard_replays_a_vector_trace(home: Path, small_market, real_cache) -> None:
    """The dashboard's replay endpoint (served by uvicorn on 127.0.0.1) serves a vector env's trace."""
    pytest.importorskip("fastapi")
    import threading
    import time

    import httpx
    import uvicorn

    from tradeready_platform.dashboard import create_local_app

    venv = make_historical_vector_env(2, data=small_market, episode_length=30, random_start=True,
                                      track_training=False)
    tracker = attach_tracker(venv, TrainingTracker(trace_every=0, flush_interval_s=0.05))
    venv.reset(seed=1)
    rng = np.random.default_rng(2)
    for _ in range(31):
        venv.step(rng.integers(3, size=2))
    venv.close()
    store = Store(home / "tracking.sqlite")
    first = store.trace(tracker.run_id, 1)
    assert first is not None and first["equity"].shape == (31,)
    app = create_local_app(home / "tracking.sqlite", cache_dir=str(real_cache), refresh_s=0.5)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.02)
    try:
        port = server.servers[0].sockets[0].getsockname()[1]
        r = httpx.get(f"http://127.0.0.1:{port}/api/v1/dashboard/runs/{tracker.run_id}/episodes/1/replay", timeout=30)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["bars"] == 31 and body["equity"] == pytest.approx(first["equity"].tolist())
        assert len(body["fills"]) == len(first["fills"])
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_make_vec_and_sb3_vec_env_runs_have_traces(home: Path, real_cache) -> None:
    """The vector envs users get (``gymnasium.make_vec``, ``make_sb3_vec_env``) record traces too."""
    import gymnasium as gym

    from tradeready_gym.envs.sb3 import make_sb3_vec_env

    kw = {"start_time": "2024-01-01", "end_time": "2024-03-01", "episode_length": 20}
    venv = gym.make_vec("TradeReady-BTC-v0", num_envs=2, **kw)
    venv.reset(seed=0)
    for _ in range(45):
        venv.step(np.array([1, 2]))
    venv.close()
    sb3 = make_sb3_vec_env("TradeReady-BTC-v0", num_envs=2, **kw)
    sb3.reset()
    for _ in range(45):
        sb3.step(np.array([1, 2]))
    sb3.close()
    store = Store(home / "tracking.sqlite")
    runs = store.list_runs()
    assert len(runs) == 2
    for run in runs:
        assert run["episodes_completed"] == 4
        reasons = {t["episode"]: t["reasons"] for t in store.traces(run["id"])}
        assert "first" in reasons[1] and "last" in reasons[4], (run["config"].get("env_class"), reasons)
        assert store.trace(run["id"], 4)["equity"].shape == (21,)  # type: ignore[index]

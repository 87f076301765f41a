"""Real processes: a training process killed with -9 loses no finished episode; several processes
writing one store at once lose nothing and never see "database is locked"."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tradeready_gym.tracking import Store

from .conftest import PYTHON, child_env

TRAIN = r"""
import sys
import numpy as np
from conftest import rest_market
from tradeready_gym.envs.presets import make_historical_env
from tradeready_gym.tracking import TrainingTracker
from tradeready_gym.tracking.tracker import attach_tracker

flush_s, episodes, label = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
market = rest_market("BTCUSDT", "1h", "2024-01-01", "2024-03-01")
env = make_historical_env(data=market, episode_length=15, random_start=True, track_training=False)
tracker = attach_tracker(env, TrainingTracker(flush_interval_s=flush_s, strategy_label=label))
rng = np.random.default_rng(abs(hash(label)) % 1000)
env.reset(seed=1)
print("RUN", tracker.run_id, flush=True)
done = 0
while episodes == 0 or done < episodes:
    _, _, te, tr, info = env.step(int(rng.integers(3)))
    if te or tr:
        done += 1
        m = info["episode_metrics"]
        tracker.log_scalars([{"key": "episode/roi", "step": done, "value": m["roi_pct"]}])
        print("EP", tracker.episodes, repr(m["roi_pct"]), flush=True)
        env.reset()
env.close()
print("CLOSED", flush=True)
"""


def _start(home: Path, *args: str) -> subprocess.Popen[str]:
    env = child_env()
    env["TRADEREADY_HOME"] = str(home)
    return subprocess.Popen([PYTHON, "-c", TRAIN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


@pytest.mark.parametrize("flush_s", [3600.0, 0.02])
def test_kill_9_loses_no_finished_episode(home: Path, flush_s: float) -> None:
    proc = _start(home, str(flush_s), "0", "killed")
    assert proc.stdout is not None
    printed: dict[int, float] = {}
    run_id = None
    deadline = time.monotonic() + 300
    try:
        while len(printed) < 60:
            line = proc.stdout.readline()
            if not line:
                raise AssertionError(f"child ended early: {proc.stderr.read() if proc.stderr else ''}")
            if line.startswith("RUN"):
                run_id = line.split()[1]
            elif line.startswith("EP"):
                _, n, roi = line.split()
                printed[int(n)] = float(roi)
            assert time.monotonic() < deadline, "child too slow"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate(timeout=60)
    for line in rest.splitlines():  # episodes reported between the last read and the kill
        if line.startswith("EP"):
            _, n, roi = line.split()
            printed[int(n)] = float(roi)
    assert proc.returncode == -signal.SIGKILL
    assert run_id is not None
    store = Store(home / "tracking.sqlite")  # the next user of the store replays the dead run's journal
    from tradeready_gym.tracking.tracker import recover_journals

    recover_journals(store)
    eps = {e["episode"]: e for e in store.episodes(run_id)}
    missing = sorted(set(printed) - set(eps))
    assert missing == [], f"finished episodes lost by kill -9: {missing}"
    for n, roi in printed.items():
        assert eps[n]["roi_pct"] == pytest.approx(roi, rel=1e-12)
    run = store.get_run(run_id)
    assert run is not None and run["stored_status"] == "running"  # never marked finished; goes stale
    assert run["episodes_completed"] >= len(printed)
    assert list((home / "tracking-journal").glob("*.jsonl")) == []


def test_concurrent_processes_lose_nothing(home: Path) -> None:
    n_proc, n_eps = 4, 120
    procs = [_start(home, "0.005", str(n_eps), f"p{i}") for i in range(n_proc)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        outs.append(out)
        assert p.returncode == 0, err
        assert "locked" not in err.lower(), err
        assert "Traceback" not in err, err
    store = Store(home / "tracking.sqlite")
    runs = store.list_runs()
    assert len(runs) == n_proc
    for out in outs:
        run_id = next(line.split()[1] for line in out.splitlines() if line.startswith("RUN"))
        assert "CLOSED" in out
        run = store.get_run(run_id)
        assert run is not None and run["status"] == "finished" and run["episodes_completed"] == n_eps
        assert [e["episode"] for e in store.episodes(run_id)] == list(range(1, n_eps + 1))
        assert len(store.scalars(run_id, "episode/roi")) == n_eps

"""The paper account survives kill -9: a real subprocess is killed, restarted, and resumes exactly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tradeready_gym.envs.presets import make_historical_env
from tradeready_gym.live.replay import ReplayServer
from tradeready_gym.live.store import PaperStore

from .conftest import IV_MS, SPEED, bar_index

CHILD = Path(__file__).with_name("paper_child.py")


def _spawn(server: ReplayServer, store: Path, steps: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(CHILD), server.ws_url, server.rest_url, str(store), str(SPEED), str(steps)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _read_line(proc: subprocess.Popen, timeout: float) -> dict:
    import selectors

    sel = selectors.DefaultSelector()
    assert proc.stdout is not None
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout):
        proc.kill()
        raise AssertionError(f"no output within {timeout} s; stderr: {proc.stderr.read() if proc.stderr else ''}")
    line = proc.stdout.readline()
    if not line:
        raise AssertionError(f"child ended; stderr: {proc.stderr.read() if proc.stderr else ''}")
    return json.loads(line)


@pytest.mark.slow
def test_kill_9_and_restart_resumes_exactly(btc15, tmp_path):
    store_path = tmp_path / "live.sqlite"
    with ReplayServer(btc15, start_index=230, speed=SPEED) as server:
        first = _spawn(server, store_path, 50)
        try:
            reset = _read_line(first, 120)
            assert reset["event"] == "reset" and reset["live"]["offline_steps"] == 0
            # the first step may compile the engine's kernels in the fresh process (numba's cache)
            seen = [_read_line(first, 120 if i == 0 else 20) for i in range(4)]
        finally:
            os.kill(first.pid, signal.SIGKILL)  # no clean-up of any kind
            first.wait(10)
        assert first.returncode == -signal.SIGKILL
        time.sleep(3 * IV_MS / 1000 / SPEED)  # three candles close while nothing runs
        second = _spawn(server, store_path, 3)
        try:
            resumed = _read_line(second, 120)
            after = [_read_line(second, 60 if i == 0 else 20) for i in range(3)]
            second.wait(20)
        finally:
            if second.poll() is None:
                second.kill()
    assert second.returncode == 0

    store = PaperStore(store_path)
    steps = store.steps("kill-test")
    candles = store.candles("kill-test")
    session = store.session("kill-test")
    assert session is not None
    # the account was not reset: the resumed equity continues the stored one
    assert resumed["live"]["offline_steps"] >= 2
    n_first = seen[-1]["live"]["step"]
    assert steps[n_first - 1]["equity"] == seen[-1]["equity"]
    # every candle once, in order, equal to the real candle; one step per candle after the first decision
    opens = [t for t, _ in candles]
    assert np.all(np.diff(opens) == IV_MS)
    for t, values in candles:
        k = bar_index(btc15, t)
        assert values[:5] == [float(btc15.open[k, 0]), float(btc15.high[k, 0]), float(btc15.low[k, 0]),
                              float(btc15.close[k, 0]), float(btc15.volume[k, 0])]
    assert [s["step"] for s in steps] == list(range(len(steps)))
    assert [s["open_ms"] for s in steps] == opens[session["start_bar"] + 1 :]
    kinds = [s["kind"] for s in steps]
    # a decision is "late" (a no-op, never traded) only when it came after its candle had closed
    assert set(kinds[:n_first]) <= {"agent", "late"} and "agent" in kinds[:n_first]
    offline = [s for s in steps if s["kind"] == "offline"]
    assert len(offline) == resumed["live"]["offline_steps"]
    # never traded retroactively: candles missed while down were held, without fills
    assert all(s["fills"] == [] and s["action"] == 0 for s in offline)
    assert set(kinds[-3:]) <= {"agent", "late"}
    assert after[-1]["live"]["step"] == len(steps)
    # and the whole stored history is exactly a backtest of the stored actions on the stored candles
    first_ot = opens[0]
    k0 = bar_index(btc15, first_ot)
    bt = make_historical_env("BTCUSDT", data=btc15.iloc(k0, k0 + len(opens) + 1), timeframe="15m",
                             lookback_window=6, observation_features=["ohlcv", "rsi_14"])
    bt.reset(options={"start_index": session["start_bar"]})
    for s in steps:
        _, _, _, _, info = bt.step(int(s["action"]))
        assert info["equity"] == s["equity"]
        assert info["filled_orders"] == s["fills"]

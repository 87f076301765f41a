"""``tradeready live replay`` and ``tradeready deploy`` as real processes; deploy in-process with a trained run."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import rest_market
from tradeready_gym._cli_live import parse_bar_values, parse_bars, parse_rest_errors
from tradeready_gym.errors import ConfigError
from tradeready_gym.live.feed import FeedConfig, LiveFeed
from tradeready_gym.live.replay import ReplayServer
from tradeready_gym.live.store import PaperStore

TRADEREADY = [str(Path(sys.executable).with_name("tradeready"))]


def _line(proc: subprocess.Popen, timeout: float) -> str:
    sel = selectors.DefaultSelector()
    assert proc.stdout is not None
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout):
        proc.kill()
        raise AssertionError(f"no output within {timeout} s; stderr: {proc.stderr.read() if proc.stderr else ''}")
    line = proc.stdout.readline()
    if not line:
        raise AssertionError(f"process ended; stderr: {proc.stderr.read() if proc.stderr else ''}")
    return line


def test_fault_option_parsing():
    assert parse_bars("2, 5,9", "--skip-final") == {2, 5, 9}
    assert parse_bar_values("3:30,7:120", "--stall") == {3: 30.0, 7: 120.0}
    assert parse_rest_errors(["/api/v3/klines:500,429"]) == {"/api/v3/klines": [500, 429]}
    with pytest.raises(ConfigError, match="--skip-final"):
        parse_bars("a,b", "--skip-final")
    with pytest.raises(ConfigError, match="--stall"):
        parse_bar_values("3", "--stall")
    with pytest.raises(ConfigError, match="rest-error"):
        parse_rest_errors(["nonsense"])


@pytest.mark.slow
def test_replay_command_serves_a_feed(real_cache):
    proc = subprocess.Popen(
        [*TRADEREADY, "live", "replay", "BTCUSDT", "ETHUSDT", "-t", "1h", "--start", "2024-03-01T00:00:00Z",
         "--history-bars", "50", "--speed", "7200", "--duration", "6", "--data-dir", str(real_cache),
         "--skip-final", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        hello = json.loads(_line(proc, 60))
        assert hello["symbols"] == ["BTCUSDT", "ETHUSDT"] and hello["first_live_bar"] == "2024-03-01T00:00:00Z"
        cfg = FeedConfig.for_replay(7200, "1h", ws_url=hello["ws_url"], rest_url=hello["rest_url"])
        with LiveFeed(["BTCUSDT", "ETHUSDT"], "1h", cfg) as feed:
            feed.backfill(5)
            nxt = feed.next_open_ms()
            bars = [feed.wait_bar(nxt + i * 3_600_000, timeout=5) for i in range(3)]
        assert [b.open_ms for b in bars] == [nxt, nxt + 3_600_000, nxt + 7_200_000]
        proc.wait(20)  # --duration ends it
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_replay_command_bad_input(real_cache):
    r = subprocess.run([*TRADEREADY, "live", "replay", "BTCUSDT", "-t", "1h", "--data-dir", str(real_cache)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "--start is required" in r.stderr


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A tiny PPO run on real 1h BTC candles (seconds of training)."""
    from tradeready_gym.pipeline.config import parse_config
    from tradeready_gym.pipeline.train import train

    root = tmp_path_factory.mktemp("deploy")
    cfg = parse_config({
        "name": "deploy-test",
        "env": {"id": "TradeReady-BTC-v0", "kwargs": {"timeframe": "1h", "lookback_window": 6}},
        "data": {"train": {"start": "2024-01-05", "end": "2024-02-01"}},
        "algorithm": {"name": "PPO", "hyperparams": {"n_steps": 32, "batch_size": 32, "n_epochs": 1},
                      "policy_kwargs": {"net_arch": [8]}},
        "training": {"total_timesteps": 64, "num_envs": 1, "seeds": [0], "eval_freq": 10_000, "progress": False},
        "output": {"runs_dir": str(root / "runs"), "store": str(root / "tracking.sqlite")},
    })
    market = rest_market("BTCUSDT", "1h", "2023-12-01", "2024-04-01")
    res = train(cfg, data=market, runs_dir=root / "runs")
    return res.run_dirs[0], market, root


@pytest.mark.slow
def test_deploy_in_process_is_a_tracked_paper_run(trained_run, tmp_path):
    from tradeready_gym.live.deploy import run_deploy
    from tradeready_gym.tracking.store import Store

    run_dir, market, _ = trained_run
    k0 = market.index_of("2024-03-01T00:00:00Z")
    lines: list[str] = []
    tracking = Store(tmp_path / "tracking.sqlite")
    with ReplayServer(market, start_index=k0, speed=7200) as server:
        out = run_deploy(run_dir, ws_url=server.ws_url, rest_url=server.rest_url, speed=7200, max_steps=3,
                         store=tmp_path / "live.sqlite", tracking_store=tracking, echo=lines.append)
    assert out["steps"] == 3 and out["stop_reason"] == "steps"
    assert lines[0].startswith("session deploy-") and len(lines) == 4
    assert all("equity" in line and "feed live" in line for line in lines[1:])
    run = tracking.get_run(out["run_id"])
    assert run is not None and run["mode"] == "paper" and run["status"] == "finished" and run["total_steps"] == 3
    steps = PaperStore(tmp_path / "live.sqlite").steps(out["session"])
    # one stored step per candle: the 3 decisions, plus no-op steps if a decision came late (loaded machine)
    assert len(steps) == out["session_steps"] >= 3 and steps[-1]["equity"] == out["equity"]
    assert sum(s["kind"] == "agent" for s in steps) + out["late_steps"] == len(steps)
    listed = subprocess.run([*TRADEREADY, "live", "sessions", "--store", str(tmp_path / "live.sqlite")],
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert row["name"] == out["session"] and row["steps"] == len(steps) and row["equity"] == out["equity"]


@pytest.mark.slow
def test_deploy_command_ctrl_c_stops_cleanly(trained_run, tmp_path):
    run_dir, market, _ = trained_run
    k0 = market.index_of("2024-03-01T00:00:00Z")
    env = {**os.environ, "TRADEREADY_HOME": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    with ReplayServer(market, start_index=k0, speed=7200) as server:
        proc = subprocess.Popen(
            [*TRADEREADY, "deploy", str(run_dir), "--ws-url", server.ws_url, "--rest-url", server.rest_url,
             "--speed", "7200"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        try:
            header = _line(proc, 90)
            assert header.startswith("session ")
            printed = [_line(proc, 120 if i == 0 else 20) for i in range(2)]
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err
    assert "stopped (Ctrl-C)" in out
    n_printed = len(printed) + sum(1 for line in out.splitlines() if "action" in line)
    store = PaperStore(tmp_path / "live.sqlite")
    (session,) = store.sessions()
    steps = store.steps(session["name"])
    assert n_printed <= len(steps) <= n_printed + 1  # a step stored just before the signal may not be printed
    from tradeready_gym.tracking.store import Store

    runs = Store(tmp_path / "tracking.sqlite").list_runs()
    paper = [r for r in runs if r["mode"] == "paper"]
    assert len(paper) == 1 and paper[0]["status"] == "finished"

"""`LiveTradingEnv` / ``TradeReady-Live-v0``: the original's keyword arguments, info, bad input, faults."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from tradeready_gym.envs.presets import make_historical_env
from tradeready_gym.errors import ConfigError, InvalidActionError
from tradeready_gym.live.env import LiveTradingEnv
from tradeready_gym.live.replay import ReplayFaults, ReplayServer
from tradeready_gym.live.store import PaperStore

from .conftest import IV_MS, SPEED, bar_index, feed_config

SMALL = {"lookback_window": 5, "observation_features": ["ohlcv"]}


def test_keyword_arguments_and_spaces():
    one = LiveTradingEnv("ETHUSDT", timeframe="15m", step_interval_sec=900, store=False, **SMALL)
    assert one.symbols == ("ETHUSDT",) and isinstance(one.action_space, gym.spaces.Discrete)
    assert one.settings["step_interval_sec"] == 900
    two = LiveTradingEnv(pairs=["BTCUSDT", "ETHUSDT"], timeframe="1m", store=False, **SMALL)
    assert two.symbols == ("BTCUSDT", "ETHUSDT") and two.action_type == "portfolio"
    assert two.action_space.shape == (2,)
    three = LiveTradingEnv(symbols=["BTCUSDT", "ETHUSDT", "SOLUSDT"], store=False, **SMALL)
    hist = make_historical_env("BTCUSDT", data=_probe(), timeframe="1m", **SMALL)
    assert one.observation_space.shape == hist.observation_space.shape
    assert three.action_space.shape == (3,)
    cont = LiveTradingEnv("BTCUSDT", action_type="continuous", store=False, starting_balance=500, **SMALL)
    assert isinstance(cont.action_space, gym.spaces.Box)
    assert one.feed_config.ws_url.startswith("wss://stream.binance.com")


def _probe():
    from tradeready_gym.live.env import _probe_market

    return _probe_market(("BTCUSDT",), "1m", 300)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"symbol": "btc usdt"}, "symbol"),
        ({"symbol": "SYNTH-1"}, "synthetic data is not live"),
        ({"symbols": ["BTCUSDT"], "pairs": ["ETHUSDT"]}, "pairs"),
        ({"pairs": []}, "pairs"),
        ({"symbols": ["BTCUSDT", "BTCUSDT"]}, "more than once"),
        ({"timeframe": "7m"}, "timeframe"),
        ({"action_type": "magic"}, "action_type"),
        ({"symbols": ["BTCUSDT", "ETHUSDT"], "action_type": "discrete"}, "action_type"),
        ({"step_interval_sec": -5}, "step_interval_sec"),
        ({"observation_features": ["nope"]}, "observation_features"),
        ({"lookback_window": 0}, "lookback_window"),
        ({"history_bars": 2}, "history_bars"),
        ({"history_bars": 10**6}, "history_bars"),
        ({"binance_ws_url": "ftp://x"}, "ws_url"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        LiveTradingEnv(**{"store": False, **kwargs})


def test_step_before_reset():
    env = LiveTradingEnv(store=False, **SMALL)
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)


def test_gym_make_info_and_restart(btc15, tmp_path):
    store = tmp_path / "s.sqlite"
    # a quarter of the usual speed: the first step must come within the candle after reset, or it is
    # `late`, and the restart below must finish within one candle (both take longer on a loaded machine)
    with ReplayServer(btc15, start_index=300, speed=SPEED / 4) as server:
        env = gym.make("TradeReady-Live-v0", symbol="BTCUSDT", timeframe="15m", feed_config=feed_config(server),
                       clock=server.clock.now_ms, store=store, step_timeout_s=10, **SMALL)
        try:
            obs, info = env.reset()
            assert env.observation_space.contains(obs)
            obs, _, _, _, info = env.step(1)
            assert info["live"]["kind"] == "agent"
            hist_keys = {"equity", "available_cash", "position_value", "unrealized_pnl", "realized_pnl", "fees_paid",
                         "virtual_time", "step", "filled_orders", "prices", "positions"}
            assert hist_keys <= set(info)
            assert info["session_id"] == "live"
            assert info["feed"]["state"] in ("live", "backfilling") and info["feed"]["stale"] is False
            assert info["latency_ms"] is not None and info["latency_ms"] >= 0
            assert isinstance(info["clock_offset_ms"], float)
            assert info["filled_orders"] and info["filled_orders"][0]["side"] == "buy"
            # a bad action fails before anything is waited for or stored
            live = env.unwrapped
            n = len(live.store.steps(live.session))
            with pytest.raises(InvalidActionError):
                env.step(7)
            assert len(live.store.steps(live.session)) == n
            # reset resumes the same account; restart archives it and starts a new one
            _, info2 = env.reset()
            assert info2["equity"] != 10_000.0 and info2["live"]["step"] >= 1
            _, info3 = env.reset(options={"restart": True})
            assert info3["equity"] == 10_000.0 and info3["live"]["step"] == 0
            names = [s["name"] for s in PaperStore(store).sessions()]
            assert any(n.startswith("BTCUSDT-15m-discrete@") for n in names)
        finally:
            env.close()
    # the session is a tracked run (mode paper); the restart started a new run
    from tradeready_gym.tracking.store import Store, default_store_path

    runs = [r for r in Store(default_store_path()).list_runs() if r["name"] == "paper/BTCUSDT-15m-discrete"
            and r["config"].get("binance_rest_url") == server.rest_url]
    assert len(runs) == 2 and {r["mode"] for r in runs} == {"paper"} and {r["status"] for r in runs} == {"finished"}
    assert max(r["total_steps"] for r in runs) >= 1 and all(r["config"]["api_key"] is None for r in runs)


def test_resume_with_other_settings_refused(btc15, tmp_path):
    store = tmp_path / "s.sqlite"
    with ReplayServer(btc15, start_index=300, speed=SPEED) as server:
        a = LiveTradingEnv("BTCUSDT", timeframe="15m", feed_config=feed_config(server), clock=server.clock.now_ms,
                           store=store, session="x", **SMALL)
        a.reset()
        a.close()
        b = LiveTradingEnv("BTCUSDT", timeframe="15m", feed_config=feed_config(server), clock=server.clock.now_ms,
                           store=store, session="x", starting_balance=5, **SMALL)
        try:
            with pytest.raises(ConfigError, match="starting_balance"):
                b.reset()
        finally:
            b.close()


def test_faults_never_miss_or_double_a_decision(btc15, tmp_path):
    s = 300
    faults = ReplayFaults(
        drop_before_final={s + 2}, stall={s + 4: 600.0}, skip_final={s + 6}, duplicate_final={s + 7},
        late_final={s + 8: 300.0}, shutdown_before_final={s + 10}, outage={s + 11: 1}, clock_skew_ms=-5000,
        rest_errors={"/api/v3/klines": [500]},
    )
    warm = make_historical_env("BTCUSDT", data=btc15, timeframe="15m", **SMALL)
    warm.reset(options={"start_index": 100})
    warm.step(1)
    # a third of the usual speed (deadlines scale with it): every decision must come within its candle,
    # so that each one is an `agent` step even when the machine is busy
    with ReplayServer(btc15, start_index=s, speed=SPEED / 3, faults=faults) as server:
        env = LiveTradingEnv("BTCUSDT", timeframe="15m", feed_config=feed_config(server), clock=server.clock.now_ms,
                             store=tmp_path / "f.sqlite", step_timeout_s=10, **SMALL)
        try:
            env.reset()
            first = env.store.session(env.session)["start_bar"]
            kinds = []
            for i in range(14):
                _, _, _, _, info = env.step(i % 3)
                kinds.append(info["live"]["kind"])
            st = info["feed"]
            steps = env.store.steps(env.session)
        finally:
            env.close()
    assert kinds == ["agent"] * 14
    # (reset may have stepped candles that closed while it ran, without trading: kind "late")
    assert [r["kind"] for r in steps[-14:]] == ["agent"] * 14 and {r["kind"] for r in steps[:-14]} <= {"late"}
    opens = [r["open_ms"] for r in steps]
    assert np.all(np.diff(opens) == IV_MS)  # every candle once, none skipped
    assert bar_index(btc15, opens[0]) >= s - 1
    assert st["reconnects"] >= 2 and st["duplicates"] >= 1
    # the decisions were taken on the real final candles: the account equals a backtest of the actions
    start = bar_index(btc15, env.candle_open_ms[0])
    bt = make_historical_env("BTCUSDT", data=btc15.iloc(start, start + len(env.candle_open_ms) + 1), timeframe="15m",
                             **SMALL)
    bt.reset(options={"start_index": first})
    for r in steps:
        _, _, _, _, info = bt.step(int(r["action"]))
        assert info["equity"] == r["equity"]


def test_unreachable_exchange_is_a_clear_error():
    import socket

    from tradeready_gym.live.feed import FeedConfig, FeedError

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once the socket is closed
    env = LiveTradingEnv(binance_ws_url=f"ws://127.0.0.1:{port}", binance_rest_url=f"http://127.0.0.1:{port}",
                         feed_config=FeedConfig(rest_retries=1, reconnect_min_s=0.05), store=False, **SMALL)
    try:
        with pytest.raises(FeedError, match=f"127.0.0.1:{port}/api/v3/klines failed"):
            env.reset()
    finally:
        env.close()

"""Parity: the live env on replayed candles == the backtest env on the same candles, same policy and seed."""

from __future__ import annotations

import numpy as np
import pytest

from tradeready_gym.envs.presets import make_historical_env, make_portfolio_env
from tradeready_gym.live.env import LiveTradingEnv
from tradeready_gym.live.replay import ReplayServer

from .conftest import SPEED, feed_config

# info keys that depend on where the data ends (the backtest knows its last bar; live does not)
DATA_END_KEYS = {"total_steps", "progress_pct"}


def _policy(seed: int, discrete: bool, n: int):
    rng = np.random.default_rng(seed)

    def act(obs: np.ndarray):
        # depends on the observation and on the seeded generator: any difference in obs shows up
        h = int(abs(float(obs.sum())) * 1000) % 7
        if discrete:
            return int((h + rng.integers(0, 3)) % 3)
        w = rng.dirichlet(np.ones(n)) * (0.3 + 0.1 * (h % 3))
        return w.astype(np.float32)

    return act


def _run_parity(market, symbols, kwargs, n_steps, tmp_path, discrete):
    start = 200
    # the backtest env is built (and its compiled step warmed up) before the replay clock starts,
    # so the live env's first decision is not late
    if len(symbols) == 1:
        bt = make_historical_env(symbols[0], data=market, timeframe="15m", **kwargs)
    else:
        bt = make_portfolio_env(symbols, data=market, timeframe="15m", **kwargs)
    bt.reset(options={"start_index": start - 50})
    bt.step(bt.action_space.sample())
    # half the usual speed (a candle per wall second): reset and the first decision fit in one candle
    with ReplayServer(market, start_index=start, speed=SPEED / 2) as server:
        live = LiveTradingEnv(
            symbols=symbols, timeframe="15m", feed_config=feed_config(server), clock=server.clock.now_ms,
            store=tmp_path / "live.sqlite", history_start=int(market.open_time[0]) // 1_000_000,
            step_timeout_s=10, track_training=False, **kwargs,
        )
        try:
            obs_l, info_l = live.reset(seed=3)
            assert info_l["live"]["late_steps"] == 0
            d = live.decision_index
            assert live.candle_open_ms[0] == int(market.open_time[0]) // 1_000_000
            obs_b, info_b = bt.reset(seed=3, options={"start_index": d})
            assert np.array_equal(obs_l, obs_b)
            pol_l, pol_b = _policy(11, discrete, len(symbols)), _policy(11, discrete, len(symbols))
            n_fills = 0
            for _ in range(n_steps):
                a_l, a_b = pol_l(obs_l), pol_b(obs_b)
                assert np.array_equal(np.asarray(a_l), np.asarray(a_b))
                obs_l, r_l, term_l, trunc_l, info_l = live.step(a_l)
                obs_b, r_b, term_b, trunc_b, info_b = bt.step(a_b)
                assert info_l["live"]["kind"] == "agent"
                assert np.array_equal(obs_l, obs_b)
                assert r_l == r_b
                assert (term_l, trunc_l) == (term_b, trunc_b)
                for key, value in info_b.items():
                    if key not in DATA_END_KEYS:
                        assert info_l[key] == value, key
                n_fills += len(info_b["filled_orders"])
            assert n_fills >= 2  # the comparison covered real trades
            assert float(live.inner.broker.fees_paid[0]) == float(bt.broker.fees_paid[0]) > 0
            assert live.metrics() == bt.metrics()
            stored = live.store.steps(live.session)
            assert [s["equity"] for s in stored][-1] == info_b["equity"]
            assert len(stored) == n_steps
        finally:
            live.close()


def test_parity_single_pair_discrete(btc15, tmp_path):
    _run_parity(btc15, ["BTCUSDT"], {"lookback_window": 8, "observation_features": ["ohlcv", "rsi_14"]}, 10,
                tmp_path, discrete=True)


@pytest.mark.slow
def test_parity_two_pairs_portfolio(market15, tmp_path):
    _run_parity(market15, ["BTCUSDT", "ETHUSDT"], {"lookback_window": 5}, 8, tmp_path, discrete=False)

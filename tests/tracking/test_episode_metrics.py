"""info["episode_metrics"] equals the engine's own metrics of the finished episode (single and vector env)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tradeready_gym.envs.presets import make_historical_vector_env, make_portfolio_env

KEYS = {"roi_pct": "roi_pct", "sharpe": "sharpe", "sortino": "sortino", "max_drawdown_pct": "max_drawdown_pct",
        "win_rate": "win_rate", "profit_factor": "profit_factor", "trades": "n_trades", "fees": "fees_paid",
        "exposure_pct": "exposure_pct", "buy_hold_roi_pct": "buy_and_hold_roi_pct", "final_equity": "final_equity"}


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.fixture(scope="module")
def market2():
    from conftest import rest_market

    return rest_market(["BTCUSDT", "ETHUSDT"], "1h", "2024-01-01", "2024-03-01")


@pytest.mark.parametrize("action_type", ["portfolio", "discrete"])
def test_single_env_terminal_info_matches_engine_metrics(home, market2, action_type) -> None:
    symbols = ["BTCUSDT", "ETHUSDT"] if action_type == "portfolio" else ["BTCUSDT"]
    data = market2 if action_type == "portfolio" else market2.select(["BTCUSDT"])
    env = make_portfolio_env(symbols=symbols, action_type=action_type, data=data, episode_length=40,
                             random_start=True, track_training=False)
    env.reset(seed=3)
    env.action_space.seed(5)
    seen = 0
    rsum = 0.0
    while seen < 4:
        _, r, te, tr, info = env.step(env.action_space.sample())
        rsum += r
        if te or tr:
            em = info["episode_metrics"]
            ref = env.metrics()  # the engine's metrics of the episode that just ended
            for k, attr in KEYS.items():
                assert _same(float(em[k]), float(getattr(ref, attr))), (k, em[k], getattr(ref, attr))
            assert em["length"] == 40
            assert em["reward_sum"] == pytest.approx(rsum, rel=1e-9, abs=1e-7)
            assert isinstance(em["trades"], int) and isinstance(em["roi_pct"], float)
            seen += 1
            rsum = 0.0
            env.reset()


def test_vector_env_metrics_match_engine_rows(home, market2) -> None:
    venv = make_historical_vector_env(4, data=market2.select(["BTCUSDT"]), episode_length=7, random_start=True,
                                      autoreset_mode="disabled", track_training=False)
    venv.reset(seed=1)
    rng = np.random.default_rng(2)
    for _ in range(7):
        _, _, te, tr, info = venv.step(rng.integers(3, size=4))
    assert (te | tr).all()
    em = info["episode_metrics"]
    for i in range(4):
        ref = venv.metrics(i)
        for k, attr in KEYS.items():
            assert _same(float(em[k][i]), float(getattr(ref, attr))), (i, k)
    assert em["length"].tolist() == [7] * 4

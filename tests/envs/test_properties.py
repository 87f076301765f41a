"""Property-based checks: any action sequence through any action space keeps the account honest."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeready_gym.actions import (
    ContinuousActions,
    DiscreteActions,
    PortfolioWeightActions,
    TargetExposureActions,
)
from tradeready_gym.envs.feed import DataFeed
from tradeready_gym.envs.portfolio import Portfolio
from tradeready_gym.envs.trading_env import TradingEnv
from tradeready_gym.observers import WindowObserver
from tradeready_gym.rewards import PnLReward

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _env(market, scheme):
    return TradingEnv(
        Portfolio(10_000, fee_rate=0.001, slippage=10.0),
        DataFeed(market),
        scheme,
        PnLReward(),
        WindowObserver(["returns"], lookback=2),
        random_start_pct=1.0,
    )


def _check(env, actions, seed):
    _, info = env.reset(seed=seed)
    total_fees = 0.0
    for a in actions:
        held = dict(info["positions"])
        _, _reward, term, trunc, info = env.step(a)
        assert info["available_cash"] >= 0.0
        for f in info["filled_orders"]:
            total_fees += f["fee"]
            if f["side"] == "sell":
                assert f["quantity"] <= held[f["symbol"]] * (1 + 1e-12) + 1e-15
            held[f["symbol"]] += f["quantity"] if f["side"] == "buy" else -f["quantity"]
        for sym, q in info["positions"].items():
            assert q >= 0.0
            assert abs(q - held[sym]) <= 1e-9 * max(1.0, abs(q))
        assert abs(info["equity"] - (info["available_cash"] + info["position_value"])) <= 1e-6
        assert abs(info["fees_paid"] - total_fees) <= 1e-6
        if term or trunc:
            break


@SETTINGS
@given(actions=st.lists(st.integers(0, 2), min_size=1, max_size=40), seed=st.integers(0, 10_000))
def test_discrete(actions, seed, btc):
    _check(_env(btc.iloc(0, 300), DiscreteActions(trade_fraction=0.5)), actions, seed)


@SETTINGS
@given(actions=st.lists(st.floats(-1, 1, width=32), min_size=1, max_size=40), seed=st.integers(0, 10_000))
def test_continuous(actions, seed, btc):
    env = _env(btc.iloc(0, 300), ContinuousActions(trade_fraction=1.0))
    _check(env, [np.array([a], dtype=np.float32) for a in actions], seed)


@SETTINGS
@given(
    actions=st.lists(st.lists(st.floats(0, 1, width=32), min_size=3, max_size=3), min_size=1, max_size=30),
    seed=st.integers(0, 10_000),
)
def test_portfolio(actions, seed, market3):
    env = _env(market3.iloc(0, 300), PortfolioWeightActions())
    _check(env, [np.array(a, dtype=np.float32) for a in actions], seed)


@SETTINGS
@given(actions=st.lists(st.integers(0, 5), min_size=1, max_size=30), seed=st.integers(0, 10_000))
def test_target_exposure(actions, seed, market3):
    _check(_env(market3.iloc(0, 300), TargetExposureActions()), actions, seed)

"""Action schemes, rewards and info agree with the engine; no action space can sell what is not held."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

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
from tradeready_gym.rewards import LogReturnReward, PnLReward, RewardFunction


def _env(market, scheme, reward=None, **portfolio):
    port = {"fee_rate": 0.001, "slippage": 5.0, **portfolio}
    return TradingEnv(
        Portfolio(10_000, **port),
        DataFeed(market),
        scheme,
        reward if reward is not None else PnLReward(),
        WindowObserver(["ohlcv"], lookback=5),
    )


def _check_info_against_engine(env, info, prev_info):
    eng = env.broker
    t = int(eng.t[0])
    close = env.feed.close[t]
    qty = np.array(list(info["positions"].values()))
    assert info["equity"] == float(eng.equity[0])
    assert info["available_cash"] == float(eng.cash[0])
    assert math.isclose(info["equity"], info["available_cash"] + float(qty @ close), rel_tol=1e-12, abs_tol=1e-9)
    assert math.isclose(info["position_value"], float(qty @ close), rel_tol=1e-12, abs_tol=1e-9)
    upnl = float(((close - eng.avg_price[0]) * qty).sum())
    assert math.isclose(info["unrealized_pnl"], upnl, rel_tol=1e-9, abs_tol=1e-6)
    # cash and fees move exactly by the fills of the step
    fills = info["filled_orders"]
    fees = sum(f["fee"] for f in fills)
    assert math.isclose(info["fees_paid"] - prev_info["fees_paid"], fees, rel_tol=1e-12, abs_tol=1e-9)
    flow = sum((-1 if f["side"] == "buy" else 1) * f["quantity"] * f["price"] - f["fee"] for f in fills)
    assert math.isclose(info["available_cash"] - prev_info["available_cash"], flow, rel_tol=1e-9, abs_tol=1e-6)
    assert info["prices"] == {s: float(close[j]) for j, s in enumerate(env.symbols)}
    assert info["virtual_time"] == env.clock.time
    assert info["step"] == env.clock.step
    assert info["progress_pct"] == pytest.approx(100.0 * info["step"] / info["total_steps"])


@pytest.mark.parametrize(
    "scheme_factory",
    [DiscreteActions, ContinuousActions, PortfolioWeightActions, TargetExposureActions],
    ids=["discrete", "continuous", "portfolio", "target_exposure"],
)
def test_random_actions_keep_accounting_exact_and_never_sell_naked(scheme_factory, market3):
    market = market3 if scheme_factory in (PortfolioWeightActions, TargetExposureActions) else market3.select(["SOLUSDT"])
    env = _env(market.iloc(0, 400), scheme_factory())
    env.action_space.seed(1)
    _, info = env.reset(seed=1)
    sells = 0
    for _ in range(300):
        prev = info
        _obs, reward, term, trunc, info = env.step(env.action_space.sample())
        _check_info_against_engine(env, info, prev)
        assert reward == pytest.approx(info["equity"] - prev["equity"], rel=1e-12, abs=1e-9)  # PnLReward
        assert info["available_cash"] >= 0.0
        assert (env.broker.qty[0] >= 0.0).all()
        for f in info["filled_orders"]:
            assert f["quantity"] > 0
            if f["side"] == "sell":
                sells += 1
                assert f["quantity"] <= prev["positions"][f["symbol"]] * (1 + 1e-12)
        if term or trunc:
            break
    assert sells > 0


def test_sells_from_flat_do_nothing_in_every_space(market3):
    btc = market3.select(["BTCUSDT"])
    cases = [
        (DiscreteActions(), btc, 2),
        (ContinuousActions(), btc, np.array([-1.0], dtype=np.float32)),
        (PortfolioWeightActions(), market3, np.zeros(3, dtype=np.float32)),
        (TargetExposureActions(), market3, 1),  # level 0.0
    ]
    for scheme, market, action in cases:
        env = _env(market.iloc(0, 100), scheme)
        env.reset(seed=0)
        for _ in range(3):
            _, _, _, _, info = env.step(action)
            assert info["filled_orders"] == []
            assert info["equity"] == 10_000.0 and info["available_cash"] == 10_000.0


def test_discrete_buy_spends_ten_percent_of_equity_and_stacks_then_close(btc):
    env = _env(btc.iloc(0, 200), DiscreteActions(), slippage=None)
    env.reset(seed=0)
    for _k in range(1, 4):
        eq = env.last_state.info["equity"]
        price = env.last_state.info["prices"]["BTCUSDT"]
        _, _, _, _, info = env.step(1)
        (fill,) = info["filled_orders"]
        assert fill["side"] == "buy"
        assert fill["quantity"] == pytest.approx(0.1 * eq / price, rel=1e-12)
        assert fill["fee"] == pytest.approx(0.001 * fill["quantity"] * fill["price"], rel=1e-12)
        assert fill["price"] == btc.open[env.clock.index, 0]  # filled at the next bar's open
    held = info["positions"]["BTCUSDT"]
    _, _, _, _, info = env.step(2)
    (fill,) = info["filled_orders"]
    assert fill["side"] == "sell" and fill["quantity"] == pytest.approx(held, rel=1e-12)
    assert info["positions"]["BTCUSDT"] == pytest.approx(0.0, abs=1e-12)


def test_discrete_buys_are_limited_by_cash(btc):
    env = _env(btc.iloc(0, 200), DiscreteActions(trade_fraction=0.7), slippage=None)
    env.reset(seed=0)
    for _ in range(4):
        _, _, _, _, info = env.step(1)
        assert info["available_cash"] >= 0.0
    assert info["available_cash"] < 0.1 * info["equity"]


def test_continuous_dead_zone_and_sizes(btc):
    env = _env(btc.iloc(0, 200), ContinuousActions(), slippage=None)
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.array([0.049], dtype=np.float32))
    assert info["filled_orders"] == []
    _, _, _, _, info = env.step(np.array([-0.049], dtype=np.float32))
    assert info["filled_orders"] == []
    eq, price = info["equity"], info["prices"]["BTCUSDT"]
    _, _, _, _, info = env.step(np.array([0.5], dtype=np.float32))
    (fill,) = info["filled_orders"]
    assert fill["side"] == "buy" and fill["quantity"] == pytest.approx(0.5 * 0.1 * eq / price, rel=1e-6)
    held = info["positions"]["BTCUSDT"]
    _, _, _, _, info = env.step(np.array([-1.0], dtype=np.float32))  # wants 10% of equity, holds ~5%
    (fill,) = info["filled_orders"]
    assert fill["side"] == "sell" and fill["quantity"] == pytest.approx(held, rel=1e-12)


def test_portfolio_weights_scaled_banded_and_sells_before_buys(market3):
    env = _env(market3.iloc(0, 200), PortfolioWeightActions(), slippage=None, fee_rate=0.0)
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.array([0.6, 0.6, 0.3], dtype=np.float32))  # sum 1.5 -> scaled by 1/1.5
    assert len(info["filled_orders"]) == 3
    t = env.clock.index
    close = env.feed.close[t]
    values = np.array(list(info["positions"].values())) * close
    weights = values / info["equity"]
    np.testing.assert_allclose(weights, np.array([0.4, 0.4, 0.2]), atol=0.02)
    # within the 1% band: no trade
    _, _, _, _, info = env.step(weights.astype(np.float32) + np.float32(0.004))
    assert info["filled_orders"] == []
    # move from BTC to SOL: the sell fills before the buy
    _, _, _, _, info = env.step(np.array([0.0, 0.4, 0.6], dtype=np.float32))
    sides = [(f["symbol"], f["side"]) for f in info["filled_orders"]]
    assert sides.index(("BTCUSDT", "sell")) < sides.index(("SOLUSDT", "buy"))
    assert info["positions"]["BTCUSDT"] == pytest.approx(0.0, abs=1e-12)


def test_target_exposure_levels(market3):
    env = _env(market3.iloc(0, 200), TargetExposureActions(levels=(0.0, 0.5, 1.0)), slippage=None, fee_rate=0.0)
    env.reset(seed=0)
    assert env.action_space == gym.spaces.Discrete(4)
    _, _, _, _, info = env.step(2)  # 50% invested, spread evenly
    assert info["position_value"] / info["equity"] == pytest.approx(0.5, abs=0.02)
    _, _, _, _, info = env.step(0)  # hold
    assert info["filled_orders"] == []
    _, _, _, _, info = env.step(1)  # 0% invested
    assert info["position_value"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    "scheme", [DiscreteActions(), ContinuousActions(), PortfolioWeightActions(), TargetExposureActions()]
)
def test_noop_action_places_no_order(scheme, market3):
    market = market3 if isinstance(scheme, (PortfolioWeightActions, TargetExposureActions)) else market3.select(["ETHUSDT"])
    env = _env(market.iloc(0, 120), scheme)
    env.action_space.seed(0)
    env.reset(seed=0)
    for _ in range(10):
        env.step(env.action_space.sample())
        before = env.broker.qty[0].copy()
        _, _, _, _, info = env.step(env.action_scheme.noop_action())
        assert info["filled_orders"] == []
        np.testing.assert_array_equal(env.broker.qty[0], before)


def test_log_return_reward_and_custom_reward_with_info(btc):
    seen = []

    class FeeAware(RewardFunction):
        def compute(self, prev_equity, curr_equity, info):
            seen.append(info["step"])
            return curr_equity - prev_equity - sum(f["fee"] for f in info["filled_orders"])

    env = _env(btc.iloc(0, 120), DiscreteActions(), FeeAware())
    env.reset(seed=0)
    prev = 10_000.0
    for a in (1, 1, 0, 2):
        _, r, _, _, info = env.step(a)
        fees = sum(f["fee"] for f in info["filled_orders"])
        assert r == pytest.approx(info["equity"] - prev - fees, rel=1e-12, abs=1e-9)
        prev = info["equity"]
    assert seen == [1, 2, 3, 4]
    env = _env(btc.iloc(0, 120), DiscreteActions(), LogReturnReward())
    env.reset(seed=0)
    prev = 10_000.0
    for a in (1, 1, 0, 2):
        _, r, _, _, info = env.step(a)
        assert r == pytest.approx(math.log(info["equity"] / prev), rel=1e-9, abs=1e-15)
        prev = info["equity"]


def test_components_reset_with_the_env(btc):
    env = _env(btc.iloc(0, 150), DiscreteActions())
    env.reset(seed=0)
    for _ in range(5):
        env.step(1)
    _obs, info = env.reset(seed=0)
    assert info["equity"] == 10_000.0 and info["step"] == 0 and info["positions"]["BTCUSDT"] == 0.0
    assert env.history.bars().shape == (1,)
    assert set(env.components) >= {"actions", "rewards", "observer", "stopper", "informer", "renderer", "plotter"}


def test_fill_times_are_iso_strings_of_the_fill_bar(btc):
    from tradeready_gym.timeframes import format_iso

    env = _env(btc.iloc(0, 120), DiscreteActions())
    env.reset(seed=0)
    for a in (1, 2, 1):
        _, _, _, _, info = env.step(a)
        (fill,) = info["filled_orders"]
        t = env.clock.index
        assert fill["time"] == format_iso(int(btc.open_time[t]))  # filled at the open of the new clock bar
    feed = env.feed
    assert feed.iso_of(int(btc.open_time[5]) + 1) == format_iso(int(btc.open_time[5]) + 1)  # not a close time

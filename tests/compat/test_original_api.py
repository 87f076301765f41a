# ruff: noqa: RUF059  (the code below unpacks step() as users of the published package wrote it)
"""Code written for the published tradeready-gym, run unchanged (PLATFORM-API.md §1 items 1-3 and 5-9).

Each test is written the way a user of the published package wrote it: names imported from
``tradeready_gym``, the original keyword arguments, the original classes and module paths. Candles
come from the local cache (the ``real_cache`` fixture holds real BTC/ETH/SOL candles).
"""

from __future__ import annotations

import importlib
import math
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import tradeready_gym

START, END = "2025-01-01T00:00:00Z", "2025-03-01T00:00:00Z"


# ---------------------------------------------------------------------------------------- item 1
TOP_LEVEL = [
    "CustomReward", "PnLReward", "SharpeReward", "SortinoReward", "DrawdownPenaltyReward", "CompositeReward",
    "FeatureEngineeringWrapper", "NormalizationWrapper", "BatchStepWrapper", "BaseTradingEnv",
    "SingleAssetTradingEnv", "MultiAssetTradingEnv", "HeadlessTradingEnv", "LogReturnReward",
]


def test_top_level_names_import():
    from tradeready_gym import (  # noqa: F401
        BatchStepWrapper,
        CompositeReward,
        CustomReward,
        DrawdownPenaltyReward,
        FeatureEngineeringWrapper,
        NormalizationWrapper,
        PnLReward,
        SharpeReward,
        SortinoReward,
    )

    for name in TOP_LEVEL:
        obj = getattr(tradeready_gym, name)
        assert isinstance(obj, type) and obj.__name__ in (name, "RewardFunction")  # CustomReward is an alias
        assert name in tradeready_gym.__all__
    assert tradeready_gym.SharpeReward is importlib.import_module("tradeready_gym.rewards").SharpeReward
    with pytest.raises(AttributeError, match="NoSuchThing"):
        _ = tradeready_gym.NoSuchThing


def test_import_stays_light():
    code = (
        "import sys, tradeready_gym\n"
        "heavy = [m for m in ('matplotlib', 'torch', 'stable_baselines3', 'fastapi', 'sqlalchemy.orm') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_live_env_and_training_tracker_resolve_to_their_modules():
    """Resolved lazily from the modules that implement them (or the import error of that module)."""
    for name, module in (("LiveTradingEnv", "tradeready_gym.live"), ("TrainingTracker", "tradeready_gym.tracking")):
        try:
            expected = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as err:
            with pytest.raises(type(err)):
                getattr(tradeready_gym, name)
            continue
        assert getattr(tradeready_gym, name) is expected
        assert name in tradeready_gym.__all__
    try:
        live = importlib.import_module("tradeready_gym.live").LiveTradingEnv
    except (ImportError, AttributeError):
        live = None
    if live is not None:
        from tradeready_gym.envs.live_env import LiveTradingEnv

        assert LiveTradingEnv is live
    try:
        tracker = importlib.import_module("tradeready_gym.tracking").TrainingTracker
    except (ImportError, AttributeError):
        return
    from tradeready_gym.utils import TrainingTracker as T1
    from tradeready_gym.utils.training_tracker import TrainingTracker as T2

    assert T1 is T2 is tracker


# ---------------------------------------------------------------------------------------- item 2
def test_single_asset_class_as_the_original_examples_build_it(real_cache):
    from tradeready_gym import SingleAssetTradingEnv

    env = SingleAssetTradingEnv(
        symbol="BTCUSDT", continuous=False, position_size_pct=0.2, api_key="ak_live_x", timeframe="1h",
        start_time=START, end_time=END, track_training=False,
    )
    assert isinstance(env, gym.Env) and isinstance(env, tradeready_gym.BaseTradingEnv)
    assert env.action_space == gym.spaces.Discrete(3)
    assert env.symbol == "BTCUSDT" and env.pairs == ["BTCUSDT"] and env.position_size_pct == 0.2
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(1)  # buy 20% of equity
    assert info["position_value"] == pytest.approx(0.2 * info["equity"], rel=0.01)
    env.close()

    cont = SingleAssetTradingEnv("ETHUSDT", True, 0.1, start_time=START, end_time=END)
    assert cont.action_space == gym.spaces.Box(-1.0, 1.0, (1,), dtype=np.float32) and cont.continuous
    assert cont.symbols == ("ETHUSDT",)


def test_multi_asset_base_and_headless_classes(real_cache):
    from tradeready_gym import BaseTradingEnv, HeadlessTradingEnv, MultiAssetTradingEnv

    multi = MultiAssetTradingEnv(symbols=["BTCUSDT", "ETHUSDT"], start_time=START, end_time=END)
    assert multi.action_space.shape == (2,) and multi.symbols == ("BTCUSDT", "ETHUSDT")
    multi.reset(seed=0)
    _, _, _, _, info = multi.step(np.array([0.5, 0.3], dtype=np.float32))
    assert set(info["prices"]) == {"BTCUSDT", "ETHUSDT"}

    base = BaseTradingEnv(api_key="ak", base_url="http://localhost:8000", timeframe="4h", start_time=START,
                          end_time=END)
    assert base.action_space == gym.spaces.Discrete(3) and base.timeframe == "4h"
    assert base.settings["base_url"] == "http://localhost:8000"

    headless = HeadlessTradingEnv(db_url="postgresql+asyncpg://u:p@localhost/db", symbol="SOLUSDT",
                                  timeframe="1h", episode_length=10, start_time=START, end_time=END)
    headless.reset(seed=0)
    steps = 0
    truncated = terminated = False
    while not (terminated or truncated):
        _, _, terminated, truncated, _ = headless.step(0)
        steps += 1
    assert steps == 10 and truncated


def test_make_historical_env_is_the_drop_in_of_the_examples(real_cache):
    a = tradeready_gym.make_historical_env("BTCUSDT", start_time=START, end_time=END)
    b = tradeready_gym.SingleAssetTradingEnv(symbol="BTCUSDT", start_time=START, end_time=END)
    oa, _ = a.reset(seed=3)
    ob, _ = b.reset(seed=3)
    np.testing.assert_array_equal(oa, ob)
    for action in (1, 0, 2, 1):
        ra, rb = a.step(action), b.step(action)
        np.testing.assert_array_equal(ra[0], rb[0])
        assert ra[1:4] == rb[1:4]


# ---------------------------------------------------------------------------------------- item 3
@pytest.mark.parametrize(
    ("features", "size"),
    [
        (["ohlcv"], 150),  # 30 x 5, as the published docs say
        (["ohlcv", "balance"], 151),
        (["ohlcv", "rsi_14", "macd", "balance", "position"], 272),  # the published code's default list
        (["ohlcv", "balance", "position", "unrealized_pnl"], 153),
        (None, 153),  # our default keeps the three scalars
    ],
)
def test_observation_size_follows_the_documented_formula(features, size, real_cache):
    kw = {} if features is None else {"observation_features": features}
    env = gym.make("TradeReady-BTC-v0", lookback_window=30, start_time=START, end_time=END, **kw)
    assert env.observation_space.shape == (size,)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (size,) and env.observation_space.contains(obs)


def test_scalar_features_hold_the_account_in_the_order_listed(real_cache):
    env = gym.make("TradeReady-BTC-v0", observation_features=["ohlcv", "unrealized_pnl", "position", "balance"],
                   start_time=START, end_time=END)
    env.reset(seed=0)
    for _ in range(3):
        obs, _, _, _, info = env.step(1)
    upnl, position, balance = obs[-3:]
    assert balance == pytest.approx(info["available_cash"] / 10_000, rel=1e-5)
    assert position == pytest.approx(info["position_value"] / info["equity"], rel=1e-5)
    assert upnl == pytest.approx(info["unrealized_pnl"] / info["equity"], rel=1e-4, abs=1e-7)
    assert position > 0.2  # three buys of 10% of equity

    port = gym.make("TradeReady-Portfolio-v0", observation_features=["ohlcv", "position"], lookback_window=10,
                    start_time=START, end_time=END)
    assert port.observation_space.shape == (10 * 5 * 3 + 3,)  # position: one value per asset


# ---------------------------------------------------------------------------------------- item 5
ORIGINAL_PATHS = {
    "tradeready_gym.rewards.custom_reward": ["CustomReward"],
    "tradeready_gym.rewards.composite": ["CompositeReward"],
    "tradeready_gym.rewards.pnl_reward": ["PnLReward"],
    "tradeready_gym.rewards.sharpe_reward": ["SharpeReward"],
    "tradeready_gym.rewards.sortino_reward": ["SortinoReward"],
    "tradeready_gym.rewards.drawdown_penalty_reward": ["DrawdownPenaltyReward"],
    "tradeready_gym.utils": [],
    "tradeready_gym.utils.training_tracker": [],
    "tradeready_gym.envs.base_trading_env": ["BaseTradingEnv"],
    "tradeready_gym.envs.single_asset_env": ["SingleAssetTradingEnv"],
    "tradeready_gym.envs.multi_asset_env": ["MultiAssetTradingEnv"],
    "tradeready_gym.envs.live_env": [],
    "tradeready_gym.envs.headless_env": ["HeadlessTradingEnv"],
    "tradeready_gym.spaces": ["ObservationBuilder", "discrete_action_space"],
    "tradeready_gym.spaces.action_spaces": [
        "discrete_action_space", "continuous_action_space", "portfolio_action_space",
        "multi_discrete_action_space", "parametric_action_space",
    ],
    "tradeready_gym.spaces.observation_builders": ["ObservationBuilder"],
    "tradeready_gym.wrappers.batch_step": ["BatchStepWrapper"],
    "tradeready_gym.wrappers.normalization": ["NormalizationWrapper"],
    "tradeready_gym.wrappers.feature_engineering": ["FeatureEngineeringWrapper"],
}


@pytest.mark.parametrize("path", sorted(ORIGINAL_PATHS))
def test_original_submodule_paths_import(path):
    module = importlib.import_module(path)
    for name in ORIGINAL_PATHS[path]:
        obj = getattr(module, name)
        if hasattr(tradeready_gym, name) and name in tradeready_gym.__all__:
            assert obj is getattr(tradeready_gym, name)


def test_original_reward_module_example():
    from tradeready_gym.rewards.custom_reward import CustomReward
    from tradeready_gym.rewards.sharpe_reward import SharpeReward

    class MyReward(CustomReward):
        def compute(self, prev_equity, curr_equity, info):
            return (curr_equity - prev_equity) / prev_equity

    assert MyReward().compute(100.0, 101.0, {}) == pytest.approx(0.01)
    assert SharpeReward(window=50).window == 50


def test_spaces_presets_and_observation_builder():
    from tradeready_gym.spaces.action_spaces import (
        continuous_action_space,
        discrete_action_space,
        multi_discrete_action_space,
        parametric_action_space,
        portfolio_action_space,
    )
    from tradeready_gym.spaces.observation_builders import ObservationBuilder

    assert discrete_action_space() == gym.spaces.Discrete(3)
    assert continuous_action_space().shape == (1,) and portfolio_action_space(3).shape == (3,)
    assert multi_discrete_action_space(2).nvec.tolist() == [3, 3]
    assert len(parametric_action_space().spaces) == 2
    b = ObservationBuilder(["ohlcv", "rsi_14", "macd", "balance", "position"], lookback_window=30, n_assets=1)
    assert b.observation_space.shape == (272,)
    rng = np.random.default_rng(0)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 80)))
    candles = [{"open": c, "high": c * 1.01, "low": c * 0.99, "close": c, "volume": 10.0} for c in close]
    obs = b.build({"BTCUSDT": candles}, {"available_cash": 5000, "starting_balance": 10000,
                                         "total_equity": 10000, "total_position_value": 5000})
    assert obs.shape == (272,) and obs.dtype == np.float32 and np.isfinite(obs).all()
    assert obs[-2:].tolist() == [0.5, 0.5]


# ---------------------------------------------------------------------------------------- item 6
def _reference_composite(steps, *, w=(0.4, 0.3, 0.2, 0.1), window=50, bonus=1.0, start=10_000.0):
    """The keyword form's formula, computed by hand with plain Python."""
    rets, prev_so, peak, idle, out = [], 0.0, 0.0, 0, []
    for prev, curr, traded in steps:
        rets.append(curr / prev - 1.0)
        rets = rets[-window:]
        so = prev_so
        if len(rets) >= 2:
            dd = math.sqrt(sum(min(r, 0.0) ** 2 for r in rets) / len(rets))
            so = (sum(rets) / len(rets)) / dd if dd > 1e-12 else 0.0
        sortino_inc, prev_so = so - prev_so, so
        pnl = (curr - prev) / start
        if traded:
            idle, act = 0, bonus
        else:
            idle += 1
            act = -bonus * min(idle / window, 1.0)
        peak = max(peak, curr)
        dd_pen = -(peak - curr) / peak if peak > 0 else 0.0
        out.append(w[0] * sortino_inc + w[1] * pnl + w[2] * act + w[3] * dd_pen)
    return out


def test_composite_reward_original_keywords_and_formula():
    from tradeready_gym import CompositeReward

    steps = [(10_000.0, 10_100.0, True), (10_100.0, 9_900.0, False), (9_900.0, 9_950.0, False),
             (9_950.0, 10_200.0, True), (10_200.0, 10_000.0, False), (10_000.0, 9_800.0, False)]
    r = CompositeReward()
    got = [r.compute(p, c, {"filled_orders": [{"side": "buy"}] if t else []}) for p, c, t in steps]
    assert got == pytest.approx(_reference_composite(steps))

    kw = {"sortino_weight": 0.25, "pnl_weight": 0.25, "activity_weight": 0.25, "drawdown_weight": 0.25,
          "sortino_window": 3, "activity_bonus": 0.5, "starting_balance": 5_000}
    r = CompositeReward(**kw)
    got = [r.compute(p, c, {"filled_orders": [1] if t else []}) for p, c, t in steps]
    assert got == pytest.approx(_reference_composite(steps, w=(0.25,) * 4, window=3, bonus=0.5, start=5_000))
    with pytest.raises(ValueError, match="sum to 1"):
        CompositeReward(sortino_weight=0.5, pnl_weight=0.5, activity_weight=0.5, drawdown_weight=0.5)


def test_composite_reward_keyword_form_in_an_env(real_cache):
    from tradeready_gym import CompositeReward, PnLReward, SharpeReward

    env = gym.make("TradeReady-BTC-v0", reward_function=CompositeReward(), start_time=START, end_time=END)
    env.reset(seed=0)
    rewards = [env.step(a)[1] for a in (1, 0, 0, 2, 0, 1)]
    assert all(math.isfinite(x) for x in rewards) and rewards[0] != 0.0
    listed = CompositeReward([PnLReward(), SharpeReward(window=10)], weights=[0.01, 1.0])  # the list form still works
    assert listed.weights == [0.01, 1.0]


# ---------------------------------------------------------------------------------------- item 7
def test_pairs_is_an_alias_of_symbols(real_cache):
    env = gym.make("TradeReady-Portfolio-v0", pairs=["BTCUSDT", "ETHUSDT"], start_time=START, end_time=END)
    assert env.unwrapped.symbols == ("BTCUSDT", "ETHUSDT") and env.action_space.shape == (2,)
    one = gym.make("TradeReady-BTC-v0", pairs=["ETHUSDT"], start_time=START, end_time=END)
    assert one.unwrapped.symbols == ("ETHUSDT",)
    with pytest.raises(tradeready_gym.ConfigError, match=r"pairs=.*TradeReady-Portfolio-v0"):
        gym.make("TradeReady-BTC-v0", pairs=["BTCUSDT", "ETHUSDT"], start_time=START, end_time=END)


# ---------------------------------------------------------------------------------------- item 8
def test_position_size_pct_sizes_discrete_and_continuous_trades(real_cache):
    for env_id, action in (("TradeReady-BTC-v0", 1), ("TradeReady-BTC-Continuous-v0", np.array([1.0], np.float32))):
        env = gym.make(env_id, position_size_pct=0.3, fee_rate=0.0, start_time=START, end_time=END)
        env.reset(seed=0)
        _, _, _, _, info = env.step(action)
        assert info["position_value"] / info["equity"] == pytest.approx(0.3, rel=0.02)
    with pytest.raises(tradeready_gym.ConfigError, match="position_size_pct"):
        gym.make("TradeReady-Portfolio-v0", position_size_pct=0.3, start_time=START, end_time=END)


def test_batch_step_wrapper_defaults_to_five_steps(real_cache):
    from tradeready_gym import BatchStepWrapper

    env = BatchStepWrapper(gym.make("TradeReady-BTC-v0", start_time=START, end_time=END))
    env.reset(seed=0)
    _, _, _, _, info = env.step(1)
    assert info["batch_steps"] == 5 and info["step"] == 5 and env.n_steps == 5


def test_readme_wrappers_and_rewards_snippets(real_cache):
    from tradeready_gym import (
        BatchStepWrapper,
        DrawdownPenaltyReward,
        FeatureEngineeringWrapper,
        NormalizationWrapper,
        PnLReward,
        SharpeReward,
        SortinoReward,
    )

    for reward in (PnLReward(), SharpeReward(window=50), SortinoReward(window=50), DrawdownPenaltyReward(penalty_coeff=1.0)):
        env = gym.make("TradeReady-BTC-v0", reward_function=reward, start_time=START, end_time=END)
        env.reset()
        env.step(env.action_space.sample())
    env = gym.make("TradeReady-BTC-v0", api_key="ak_live_YOUR_KEY", start_time=START, end_time=END)
    env = FeatureEngineeringWrapper(env, periods=[5, 10, 20])
    env = NormalizationWrapper(env)
    env = BatchStepWrapper(env, n_steps=5)
    obs, info = env.reset()
    for _ in range(20):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        if terminated:
            obs, info = env.reset()
    assert obs.shape == env.observation_space.shape
    env.close()


def test_unknown_keyword_is_a_type_error_and_a_config_error(real_cache):
    with pytest.raises(TypeError, match="unexpected keyword argument 'frameskip'") as err:
        gym.make("TradeReady-BTC-v0", frameskip=4, start_time=START, end_time=END)
    assert isinstance(err.value, tradeready_gym.ConfigError)
    assert "allowed:" in str(err.value) and "lookback_window" in str(err.value)
    with pytest.raises(TypeError, match="unexpected keyword argument 'step_interval_sec'"):
        gym.make("TradeReady-Portfolio-v0", step_interval_sec=60)


def test_base_url_is_the_platform_and_binance_urls_have_their_own(real_cache, tmp_path, shared_data):
    # base_url is never used for candles: the env builds from the local cache with any base_url
    env = gym.make("TradeReady-BTC-v0", api_key="ak_live_x", base_url="http://127.0.0.1:9", start_time=START,
                   end_time=END)
    env.reset(seed=0)
    assert env.unwrapped.settings["base_url"] == "http://127.0.0.1:9"

    from data.servers import KlinesServer, serve_directory

    with KlinesServer(shared_data) as rest, serve_directory(shared_data / "binance-vision") as (vision_url, paths):
        env = gym.make("TradeReady-ETH-v0", download=True, data_dir=tmp_path, binance_base_url=rest.url,
                       binance_data_url=vision_url, base_url="http://127.0.0.1:9", lookback_window=5,
                       observation_features=["ohlcv"], start_time="2025-07-01T00:00:00Z",
                       end_time="2025-07-04T00:00:00Z")
        obs, info = env.reset(seed=0)
    assert obs.shape == (25,)
    assert paths or rest.requests  # candles came from the given Binance URLs
    assert info["virtual_time"] >= "2025-07-01"


# ---------------------------------------------------------------------------------------- item 9
def test_box_actions_are_clipped_nan_raises(real_cache):
    a = gym.make("TradeReady-BTC-Continuous-v0", start_time=START, end_time=END)
    b = gym.make("TradeReady-BTC-Continuous-v0", start_time=START, end_time=END)
    a.reset(seed=0)
    b.reset(seed=0)
    for big, bounded in ((1.7, 1.0), (-3.0, -1.0), (0.5, 0.5), (25.0, 1.0)):
        ra = a.step(np.array([big], dtype=np.float32))
        rb = b.step(np.array([bounded], dtype=np.float32))
        np.testing.assert_array_equal(ra[0], rb[0])
        assert ra[1] == rb[1] and ra[4]["equity"] == rb[4]["equity"]
    with pytest.raises(tradeready_gym.InvalidActionError, match="NaN"):
        a.step(np.array([np.nan], dtype=np.float32))
    port = gym.make("TradeReady-Portfolio-v0", start_time=START, end_time=END)
    port.reset(seed=0)
    port.step(np.array([2.0, -1.0, 0.5], dtype=np.float32))  # clipped to [1, 0, 0.5], then scaled to sum 1


def test_discrete_actions_outside_the_space_still_raise(real_cache):
    """Documented difference: the published package treated 3 or -1 as hold; we refuse them."""
    env = gym.make("TradeReady-BTC-v0", start_time=START, end_time=END)
    env.reset(seed=0)
    with pytest.raises(tradeready_gym.InvalidActionError, match="outside Discrete"):
        env.step(3)

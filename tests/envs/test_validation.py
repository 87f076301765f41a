"""One type check for every public preset parameter, one symbol rule, one time-range rule.

Each bad value raises the library's `ConfigError` naming the parameter, the value as given and
what is allowed, before any candle is loaded or any array allocated.
"""

from __future__ import annotations

import datetime as dt
import time
import tracemalloc

import gymnasium as gym
import numpy as np
import pytest

from tradeready_gym.data import generate_synthetic
from tradeready_gym.engine import FixedFee, MakerTakerFee, PercentageFee
from tradeready_gym.envs.presets import make_historical_env, make_portfolio_env
from tradeready_gym.errors import ConfigError
from tradeready_gym.rewards import PnLReward
from tradeready_gym.validation import check_symbol, check_symbols, check_time_range


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"reward_function": PnLReward}, "reward_function=<class 'tradeready_gym.rewards.builtin.PnLReward'>"),
        ({"reward_function": "pnl"}, "reward_function='pnl' is not allowed"),
        ({"equity_floor": "0.1"}, "equity_floor='0.1' is not allowed; allowed: a number in [0, 1)"),
        ({"equity_floor": 1.5}, "equity_floor=1.5 is not allowed"),
        ({"api_key": 123}, "api_key=123 is not allowed; allowed: None or an API key string"),
        ({"base_url": 5}, "base_url=5 is not allowed"),
        ({"strategy_label": ["a"]}, "strategy_label=['a'] is not allowed"),
        ({"track_training": "yes"}, "track_training='yes' is not allowed; allowed: True or False"),
        ({"starting_balance": "10000"}, "starting_balance='10000' is not allowed"),
        ({"starting_balance": -5}, "starting_balance=-5 is not allowed"),
        ({"lookback_window": 30.0}, "lookback_window=30.0 is not allowed; allowed: an integer in [1, 100000]"),
        ({"lookback_window": 0}, "lookback_window=0 is not allowed"),
        ({"fee_rate": "0.001"}, "fee_rate='0.001' is not allowed"),
        ({"fee": 0.001}, "fee=0.001 is not allowed"),
        ({"fee": PercentageFee}, "fee=<class"),
        ({"slippage": -1}, "slippage=-1 is not allowed"),
        ({"slippage": "5bps"}, "slippage='5bps' is not allowed"),
        ({"episode_length": 0}, "episode_length=0 is not allowed"),
        ({"episode_length": 10.5}, "episode_length=10.5 is not allowed"),
        ({"random_start": "yes"}, "random_start='yes' is not allowed"),
        ({"random_start": 2.0}, "random_start=2.0 is not allowed"),
        ({"download": 1}, "download=1 is not allowed; allowed: True or False"),
        ({"data_dir": 7}, "data_dir=7 is not allowed"),
        ({"timeframe": 60}, "timeframe=60 is not allowed"),
        ({"render_mode": "video"}, "render_mode='video' is not allowed"),
        ({"start_time": 1704067200}, "start_time=1704067200 is not allowed"),
        ({"end_time": np.int64(1704067200000)}, "end_time=np.int64(1704067200000) is not allowed"),
        ({"start_time": "2024-02-01", "end_time": "2024-01-01"}, "start_time='2024-02-01' must be before"),
        ({"start_time": "yesterday"}, "start_time='yesterday'"),
    ],
)
def test_bad_parameters_name_the_parameter_the_value_and_what_is_allowed(kwargs, needle, btc) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as err:
        make_historical_env(data=btc, **kwargs)
    msg = str(err.value)
    assert needle in msg
    assert "allowed" in msg


def test_an_int_start_time_says_how_to_pass_epoch_seconds(btc) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=r"pandas.Timestamp\(1704067200, unit='s'\)"):
        gym.make("TradeReady-BTC-v0", data=btc, start_time=1704067200)


def test_time_forms_that_are_unambiguous_are_accepted(btc) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd

    expected = make_historical_env(data=btc, start_time="2024-01-10T00:00:00Z", track_training=False)
    first = expected.unwrapped.reset(seed=0)[1]["virtual_time"]
    for value in (
        dt.datetime(2024, 1, 10, tzinfo=dt.UTC),
        pd.Timestamp("2024-01-10", tz="UTC"),
        np.datetime64("2024-01-10T00:00:00", "ns"),
        "2024-01-10",
    ):
        env = make_historical_env(data=btc, start_time=value, track_training=False)
        assert env.reset(seed=0)[1]["virtual_time"] == first


def test_huge_lookback_fails_fast_before_allocating(btc) -> None:  # type: ignore[no-untyped-def]
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match=r"lookback_window=1000000000 is not allowed"):
        make_historical_env(data=btc, lookback_window=10**9)
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 50 * 2**20  # nothing near 18 GiB was allocated
    assert elapsed < 30  # generous: the machine is shared; the old path allocated for minutes


def test_the_symbol_rule_is_shared_by_the_data_layer_and_the_presets(market3) -> None:  # type: ignore[no-untyped-def]
    # the presets now accept what the data layer accepts
    env = make_portfolio_env(symbols=["btc/usdt", "ETH_USDT", "solusdt"], data=market3, track_training=False)
    assert env.unwrapped.feed.symbols == ("BTCUSDT", "ETHUSDT", "SOLUSDT")
    synth = generate_synthetic(300, symbols=["SYNTH-1"], seed=1)
    env = make_historical_env(symbol="SYNTH-1", data=synth, track_training=False)
    assert env.unwrapped.feed.symbols == ("SYNTH-1",)
    assert check_symbol("btc/usdt") == "BTCUSDT"
    for bad in ("BTC USDT", "", "B", "BTC/USDT/X", "SYNTH-", "SYNTH-1!", 5):
        with pytest.raises(ConfigError, match="allowed: a Binance spot pair"):
            check_symbol(bad)
        with pytest.raises(ConfigError, match=f"symbol={bad!r} is not allowed"):
            make_historical_env(symbol=bad, data=market3)
    with pytest.raises(ConfigError, match="listed more than once"):
        check_symbols(["BTCUSDT", "btc/usdt"])
    with pytest.raises(ConfigError, match="listed more than once"):
        make_portfolio_env(symbols=["BTCUSDT", "btc/usdt"], data=market3)


def test_the_time_range_rule_is_shared() -> None:
    from tradeready_gym.data import load_market_data

    with pytest.raises(ConfigError, match=r"start='2024-02-01' must be before end='2024-01-01'"):
        check_time_range("2024-02-01", "2024-01-01")
    synth = generate_synthetic(100, seed=2)
    with pytest.raises(ConfigError, match=r"start='2024-02-01' must be before end='2024-01-01'"):
        load_market_data("SYNTH-1", "1h", "2024-02-01", "2024-01-01", data=synth)
    with pytest.raises(ConfigError, match=r"start='2024-02-01' must be before end='2024-01-01'"):
        synth.slice("2024-02-01", "2024-01-01")


@pytest.mark.parametrize(
    "fee", [PercentageFee(0.002), MakerTakerFee(maker=0.0002, taker=0.0006), FixedFee(1.0)]
)
def test_presets_accept_fee_models(fee, btc) -> None:  # type: ignore[no-untyped-def]
    env = make_historical_env(data=btc, fee=fee, track_training=False)
    cfg = env.unwrapped.portfolio.config
    assert cfg.fee_model == fee
    env.reset(seed=0)
    env.step(1)  # buy
    fills = env.unwrapped.broker.last_fills(0)
    assert len(fills) == 1
    f = fills[0]
    assert f.fee == pytest.approx(fee.fee(f.quantity * f.price), rel=1e-12)


def test_reset_start_time_errors_show_the_time_given_not_a_bar_index(btc) -> None:  # type: ignore[no-untyped-def]
    env = make_historical_env(data=btc, track_training=False)
    with pytest.raises(ConfigError) as err:
        env.reset(seed=0, options={"start_time": "2020-01-01"})
    msg = str(err.value)
    assert "options['start_time']='2020-01-01' is not allowed; allowed: a time from 2024-01-0" in msg
    assert "to 2024-02-29T22:00:00Z" in msg
    with pytest.raises(ConfigError, match=r"options\['start_time'\]=1704067200 is not allowed"):
        env.reset(seed=0, options={"start_time": 1704067200})
    _, info = env.reset(seed=0, options={"start_time": "2024-02-01T00:00:00Z"})
    assert info["virtual_time"] == "2024-02-01T01:00:00Z"  # decided at the close of the 00:00 bar


def test_a_reward_class_given_to_the_env_class_is_refused(btc) -> None:  # type: ignore[no-untyped-def]
    from tradeready_gym.actions import DiscreteActions
    from tradeready_gym.envs import DataFeed, Portfolio, TradingEnv
    from tradeready_gym.observers import WindowObserver

    with pytest.raises(ConfigError, match=r"reward_function=<class .*PnLReward'> is not allowed; allowed: an instance"):
        TradingEnv(Portfolio(10_000), DataFeed(btc), DiscreteActions(), PnLReward, WindowObserver(["ohlcv"], 10))


def test_a_huge_num_envs_fails_fast(btc) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=r"num_envs=1000000000 is not allowed; allowed: an integer in \[1, 1048576\]"):
        gym.make_vec("TradeReady-BTC-v0", num_envs=10**9, data=btc)
    with pytest.raises(ConfigError, match=r"num_envs=2.0 is not allowed"):
        gym.make_vec("TradeReady-Portfolio-v0", num_envs=2.0)

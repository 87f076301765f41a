"""Wrappers on the real registered environments and real candles."""

from __future__ import annotations

import json
import warnings

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tradeready_gym  # noqa: F401  (registers the ids)
from conftest import rest_market
from tradeready_gym.data.market import MarketData
from tradeready_gym.errors import ConfigError, DataError
from tradeready_gym.wrappers import (
    BatchStepWrapper,
    FeatureEngineeringWrapper,
    NormalizationWrapper,
    RunningMeanVar,
)


@pytest.fixture(scope="module")
def btc() -> MarketData:
    return rest_market("BTCUSDT", "1h", "2024-01-01", "2024-03-01")


@pytest.fixture(scope="module")
def three() -> MarketData:
    return rest_market(["BTCUSDT", "ETHUSDT", "SOLUSDT"], "1h", "2024-01-01", "2024-02-01")


def _bar(md: MarketData, env: gym.Env) -> int:
    """Index in ``md`` of the bar at the env's clock, found from the decision time alone."""
    clock = env.unwrapped.clock
    t = int(np.searchsorted(md.open_time, clock.time_ns - md.interval_ns))
    assert md.open_time[t] + md.interval_ns == clock.time_ns
    return t


def _expected_features(md: MarketData, t: int, periods) -> np.ndarray:
    c = md.close
    out = []
    for p in periods:
        for j in range(md.n_symbols):
            out.append(c[t, j] / c[t - p + 1 : t + 1, j].mean() - 1)
            out.append(c[t, j] / c[t - p, j] - 1)
    return np.array(out, dtype=np.float32)


# ----------------------------------------------------------------------------- FeatureEngineering
def test_feature_engineering_values_from_the_latest_close(btc):
    base = gym.make("TradeReady-BTC-v0", data=btc)
    env = FeatureEngineeringWrapper(base, periods=(5, 10, 20))
    n0 = base.observation_space.shape[0]
    assert env.observation_space.shape == (n0 + 6,)
    assert env.observation_space.dtype == np.float32
    obs, info = env.reset(seed=1)
    t = _bar(btc, env)
    # seeded from the real history before the start: full-length values, no zero padding
    assert t >= 20
    np.testing.assert_allclose(obs[n0:], _expected_features(btc, t, (5, 10, 20)), rtol=1e-5, atol=1e-7)
    assert np.all(obs[n0:] != 0)
    rng = np.random.default_rng(0)
    for _ in range(60):
        obs, _, term, trunc, info = env.step(int(rng.integers(0, 3)))
        t = _bar(btc, env)
        assert info["prices"]["BTCUSDT"] == btc.close[t, 0]
        np.testing.assert_allclose(obs[n0:], _expected_features(btc, t, (5, 10, 20)), rtol=1e-5, atol=1e-7)
        assert env.observation_space.contains(obs)
        assert not (term or trunc)


def test_feature_engineering_resets_per_episode_and_multi_asset_order(three):
    env = FeatureEngineeringWrapper(gym.make("TradeReady-Portfolio-v0", data=three), periods=(3, 7))
    n0 = env.env.observation_space.shape[0]
    assert env.observation_space.shape == (n0 + 2 * 2 * 3,)
    env.reset(seed=0, options={"start_index": 300})
    for _ in range(25):
        env.step(env.action_space.sample())
    # a new episode at another start: nothing of the previous episode's closes survives
    obs, _ = env.reset(options={"start_index": 120})
    t = _bar(three, env)
    assert t == 120
    np.testing.assert_allclose(obs[n0:], _expected_features(three, t, (3, 7)), rtol=1e-5, atol=1e-7)
    for _ in range(5):
        obs, *_ = env.step(np.array([0.2, 0.3, 0.1], dtype=np.float32))
    np.testing.assert_allclose(
        obs[n0:], _expected_features(three, _bar(three, env), (3, 7)), rtol=1e-5, atol=1e-7
    )


def test_feature_engineering_is_causal(btc):
    """Candles after the clock are changed; the wrapped observations up to the clock do not change."""
    k = 200
    cut = btc.iloc(0, k)
    env_a = FeatureEngineeringWrapper(gym.make("TradeReady-BTC-v0", data=btc), periods=(4, 12))
    scale = np.linspace(1.5, 3.0, btc.n_bars - k)[:, None]
    fut = [
        np.concatenate(
            [getattr(cut, f), getattr(btc.iloc(k, btc.n_bars), f) * (scale if f != "volume" else 1)]
        )
        for f in ("open", "high", "low", "close", "volume")
    ]
    other = MarketData(btc.symbols, btc.timeframe, btc.open_time, *fut)
    env_b = FeatureEngineeringWrapper(gym.make("TradeReady-BTC-v0", data=other), periods=(4, 12))
    oa, _ = env_a.reset(options={"start_index": 100})
    ob, _ = env_b.reset(options={"start_index": 100})
    np.testing.assert_array_equal(oa, ob)
    while _bar(btc, env_a) < k - 1:
        a = env_a.action_space.sample()
        oa, *_ = env_a.step(a)
        ob, *_ = env_b.step(a)
        np.testing.assert_array_equal(oa, ob)
    oa, *_ = env_a.step(0)
    ob, *_ = env_b.step(0)
    assert not np.array_equal(oa, ob)  # the perturbation is real: the next bar differs


def _frozen_normalization(env: gym.Env) -> NormalizationWrapper:
    w = NormalizationWrapper(env)
    w.reset(seed=0)
    for a in range(30):
        w.step(a % 3)
    w.freeze()  # running statistics change the observations; frozen, reset(seed) is reproducible
    return w


@pytest.mark.parametrize(
    "wrap",
    [
        lambda e: FeatureEngineeringWrapper(e, periods=(5, 10)),
        _frozen_normalization,
        lambda e: BatchStepWrapper(e, 4),
        lambda e: BatchStepWrapper(_frozen_normalization(FeatureEngineeringWrapper(e)), 3),
    ],
    ids=["features", "normalization", "batch_step", "all"],
)
def test_wrapped_envs_pass_gymnasium_and_sb3_check_env(btc, wrap):
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = wrap(gym.make("TradeReady-BTC-v0", data=btc).unwrapped)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env, skip_render_check=True)
        sb3_check_env(env, warn=True)


def test_feature_engineering_over_batch_step_reseeds(btc):
    env = FeatureEngineeringWrapper(
        BatchStepWrapper(gym.make("TradeReady-BTC-v0", data=btc), 6), periods=(5,)
    )
    n0 = env.env.observation_space.shape[0]
    env.reset(seed=3)
    for _ in range(4):
        obs, *_ = env.step(0)
        np.testing.assert_allclose(
            obs[n0:], _expected_features(btc, _bar(btc, env), (5,)), rtol=1e-5, atol=1e-7
        )


@pytest.mark.parametrize(
    ("periods", "needle"),
    [
        ((), "at least one"),
        ((5, 1), "holds 1"),
        ((5, 5), "repeats"),
        ((2.5,), "holds 2.5"),
        ("abc", "holds 'a'"),
    ],
)
def test_feature_engineering_bad_periods(btc, periods, needle):
    with pytest.raises(ConfigError, match=needle):
        FeatureEngineeringWrapper(gym.make("TradeReady-BTC-v0", data=btc), periods=periods)


# ----------------------------------------------------------------------------- Normalization
@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sizes=st.lists(st.integers(0, 7), min_size=1, max_size=8))
def test_running_mean_var_merges_batches_exactly(seed, sizes):
    rng = np.random.default_rng(seed)
    batches = [rng.normal(3.0, 50.0, (n, 4)) for n in sizes]
    s = RunningMeanVar((4,))
    for b in batches:
        s.update(b)
    allx = np.concatenate(batches)
    assert s.count == allx.shape[0]
    if allx.shape[0]:
        np.testing.assert_allclose(s.mean, allx.mean(axis=0), rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(s.var, allx.var(axis=0), rtol=1e-9, atol=1e-8)


def _actions(n: int, seed: int = 0) -> list[int]:
    return [int(a) for a in np.random.default_rng(seed).integers(0, 3, n)]


def test_normalization_uses_running_stats_of_all_observations_so_far(btc):
    raw = gym.make("TradeReady-BTC-v0", data=btc, observation_features=["ohlcv", "rsi_14"])
    env = NormalizationWrapper(
        gym.make("TradeReady-BTC-v0", data=btc, observation_features=["ohlcv", "rsi_14"]), clip=5.0
    )
    assert env.observation_space == gym.spaces.Box(-5.0, 5.0, raw.observation_space.shape, np.float32)
    seen = [raw.reset(seed=4)[0].astype(np.float64)]
    got = [env.reset(seed=4)[0]]
    for a in _actions(80):
        seen.append(raw.step(a)[0].astype(np.float64))
        got.append(env.step(a)[0])
    x = np.array(seen)
    for i in (1, 2, 10, 80):
        m, v = x[: i + 1].mean(axis=0), x[: i + 1].var(axis=0)
        want = np.clip((x[i] - m) / np.sqrt(v + 1e-8), -5.0, 5.0)
        np.testing.assert_allclose(got[i], want, rtol=1e-4, atol=1e-4)
        assert env.observation_space.contains(got[i])
    np.testing.assert_allclose(env.stats.mean, x.mean(axis=0), rtol=1e-9, atol=1e-12)
    assert env.stats.count == 81
    assert np.abs(np.array(got)).max() <= 5.0
    assert (np.abs(np.array(got)) == 5.0).any()  # the first steps hit the clip: the clip is applied


def test_normalization_freeze_and_unfreeze(btc):
    env = NormalizationWrapper(gym.make("TradeReady-BTC-v0", data=btc))
    env.reset(seed=0)
    for a in _actions(20):
        env.step(a)
    env.freeze()
    assert env.frozen
    count, mean = env.stats.count, env.stats.mean.copy()
    raw_obs = []
    for a in _actions(10, 1):
        obs, *_ = env.step(a)
        raw_obs.append(obs)
    assert env.stats.count == count
    np.testing.assert_array_equal(env.stats.mean, mean)
    env.unfreeze()
    env.step(0)
    assert env.stats.count == count + 1


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_normalization_save_load_round_trip(btc, tmp_path, suffix):
    env = NormalizationWrapper(gym.make("TradeReady-BTC-v0", data=btc), clip=7.0, epsilon=1e-6)
    env.reset(seed=2)
    for a in _actions(50, 2):
        env.step(a)
    path = env.save(tmp_path / "sub" / f"stats{suffix}")
    assert path.is_file()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind
    fresh = NormalizationWrapper(gym.make("TradeReady-BTC-v0", data=btc))
    fresh.load(path)
    fresh.freeze()
    env.freeze()
    assert fresh.clip == 7.0 and fresh.epsilon == 1e-6 and fresh.stats.count == env.stats.count
    np.testing.assert_array_equal(fresh.stats.mean, env.stats.mean)
    np.testing.assert_array_equal(fresh.stats.m2, env.stats.m2)
    a, _ = env.reset(seed=9)
    b, _ = fresh.reset(seed=9)
    np.testing.assert_array_equal(a, b)
    for act in _actions(15, 3):
        np.testing.assert_array_equal(env.step(act)[0], fresh.step(act)[0])


def test_normalization_bad_files_change_nothing(btc, three, tmp_path):
    env = NormalizationWrapper(gym.make("TradeReady-BTC-v0", data=btc))
    env.reset(seed=0)
    other = NormalizationWrapper(gym.make("TradeReady-Portfolio-v0", data=three))
    other.reset(seed=0)
    wrong_shape = other.save(tmp_path / "portfolio.json")
    before = (env.stats.count, env.stats.mean.copy())
    with pytest.raises(DataError, match="shape"):
        env.load(wrong_shape)
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(DataError, match=r"junk\.json"):
        env.load(tmp_path / "junk.json")
    (tmp_path / "list.json").write_text(json.dumps([1, 2]))
    with pytest.raises(DataError):
        env.load(tmp_path / "list.json")
    good = json.loads(env.save(tmp_path / "good.json").read_text())
    good["mean"] = good["mean"][:-1]
    (tmp_path / "short.json").write_text(json.dumps(good))
    with pytest.raises(DataError, match="malformed"):
        env.load(tmp_path / "short.json")
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(DataError, match=r"broken\.npz"):
        env.load(tmp_path / "broken.npz")
    with pytest.raises(DataError, match="does not exist"):
        env.load(tmp_path / "missing.json")
    with pytest.raises(ConfigError, match=r"must end in \.json or \.npz"):
        env.save(tmp_path / "stats.pkl")
    assert env.stats.count == before[0]
    np.testing.assert_array_equal(env.stats.mean, before[1])
    with pytest.raises(ConfigError, match="clip=0"):
        NormalizationWrapper(gym.make("TradeReady-BTC-v0", data=btc), clip=0)
    with pytest.raises(ConfigError, match="epsilon=-1"):
        NormalizationWrapper(gym.make("TradeReady-BTC-v0", data=btc), epsilon=-1)


# ----------------------------------------------------------------------------- BatchStep
def test_batch_step_sends_the_order_once_and_sums_rewards(btc):
    env = BatchStepWrapper(gym.make("TradeReady-BTC-v0", data=btc), n_steps=5)
    ref = gym.make("TradeReady-BTC-v0", data=btc)
    env.reset(seed=5)
    ref.reset(seed=5)
    obs, reward, _, _, info = env.step(1)  # buy 10% of equity
    assert info["batch_steps"] == 5
    assert len(info["filled_orders"]) == 1 and info["filled_orders"][0]["side"] == "buy"
    total, fills = 0.0, []
    for a in [1, 0, 0, 0, 0]:  # 0 is the Discrete env's no-op (hold)
        r_obs, r, _, _, r_info = ref.step(a)
        total += r
        fills += r_info["filled_orders"]
    np.testing.assert_array_equal(obs, r_obs)
    assert reward == pytest.approx(total, abs=1e-9)
    assert info["equity"] == r_info["equity"]
    assert info["filled_orders"] == fills
    # holding the buy for 5 candles is not buying 5 times
    rep = gym.make("TradeReady-BTC-v0", data=btc)
    rep.reset(seed=5)
    assert sum(len(rep.step(1)[4]["filled_orders"]) for _ in range(5)) == 5


def test_batch_step_fill_count_over_an_episode_and_continuous_noop(btc):
    env = BatchStepWrapper(gym.make("TradeReady-BTC-Continuous-v0", data=btc), n_steps=3)
    ref = gym.make("TradeReady-BTC-Continuous-v0", data=btc)
    noop = env.noop_action()
    assert np.array_equal(noop, np.zeros(1, dtype=np.float32))
    env.reset(seed=0)
    ref.reset(seed=0)
    rng = np.random.default_rng(7)
    fills = steps = 0
    for _ in range(40):
        a = np.array([rng.choice([-0.9, 0.0, 0.6])], dtype=np.float32)
        _, reward, _, _, info = env.step(a)
        ref_fills, ref_reward = [], 0.0
        for inner in (a, noop, noop):
            _, r, _, _, r_info = ref.step(inner)
            ref_fills.append(r_info["filled_orders"])
            ref_reward += r
        assert ref_fills[1] == [] and ref_fills[2] == []  # the no-op never trades
        assert info["filled_orders"] == ref_fills[0]  # the decision's order, sent once
        assert len(info["filled_orders"]) <= 1
        assert reward == pytest.approx(ref_reward, abs=1e-9)
        assert info["equity"] == r_info["equity"]
        fills += len(info["filled_orders"])
        steps += info["batch_steps"]
    assert steps == 120
    assert fills >= 10  # buys and sells really happened


def test_batch_step_stops_at_the_episode_end(btc):
    env = BatchStepWrapper(gym.make("TradeReady-BTC-v0", data=btc, episode_length=7), n_steps=5)
    env.reset(seed=0)
    *_, term, trunc, info = env.step(0)
    assert info["batch_steps"] == 5 and not (term or trunc)
    *_, term, trunc, info = env.step(0)
    assert info["batch_steps"] == 2 and trunc and not term
    env = BatchStepWrapper(gym.make("TradeReady-BTC-v0", data=btc), n_steps=4)
    env.reset(options={"start_index": btc.n_bars - 6})
    *_, term, trunc, info = env.step(0)
    assert info["batch_steps"] == 4 and not term
    *_, term, trunc, info = env.step(0)
    assert info["batch_steps"] == 1 and term and not trunc


def test_batch_step_portfolio_noop_keeps_the_weights(three):
    env = BatchStepWrapper(gym.make("TradeReady-Portfolio-v0", data=three), n_steps=6)
    ref = gym.make("TradeReady-Portfolio-v0", data=three)
    env.reset(seed=0)
    ref.reset(seed=0)
    for target in ([0.3, 0.3, 0.3], [0.3, 0.3, 0.3], [0.0, 0.0, 0.5]):
        a = np.array(target, dtype=np.float32)
        _, reward, _, _, info = env.step(a)
        ref_fills, ref_reward = [], 0.0
        for k in range(6):
            # the no-op is the current weights, taken at each inner step
            inner = a if k == 0 else ref.unwrapped.action_scheme.noop_action()
            _, r, _, _, r_info = ref.step(inner)
            ref_fills += r_info["filled_orders"]
            ref_reward += r
            if k > 0:
                assert r_info["filled_orders"] == []
        assert info["filled_orders"] == ref_fills
        assert reward == pytest.approx(ref_reward, abs=1e-9)
    # the second identical target is within the 1% band: nothing trades
    assert info["equity"] == r_info["equity"]


@pytest.mark.parametrize("n", [0, -2, 2.0, True])
def test_batch_step_bad_n_steps(btc, n):
    with pytest.raises(ConfigError, match=f"n_steps={n!r}"):
        BatchStepWrapper(gym.make("TradeReady-BTC-v0", data=btc), n_steps=n)


def test_wrappers_compose_with_the_documented_order(btc):
    env = gym.make("TradeReady-BTC-v0", data=btc)
    env = FeatureEngineeringWrapper(env, periods=(5, 10, 20))
    env = NormalizationWrapper(env)
    env = BatchStepWrapper(env, n_steps=4)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    for a in _actions(30, 5):
        obs, reward, _, _, info = env.step(a)
        assert env.observation_space.contains(obs) and np.isfinite(reward)
        assert info["batch_steps"] == 4

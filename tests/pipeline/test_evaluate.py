"""Held-out evaluation: periods, baselines and the store's counts, on real candles."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import tradeready_gym  # noqa: F401
from tradeready_gym.errors import ConfigError
from tradeready_gym.pipeline.evaluate import EvalSettings, check_held_out, evaluate_policy, min_purge_bars
from tradeready_gym.pipeline.rollout import (
    buy_and_hold_rollout,
    make_eval_vec_env,
    random_actions,
    run_policy,
)

PERIOD = ("2024-05-01T00:00:00Z", "2024-05-15T00:00:00Z")


def test_check_held_out():
    train = [("train", "2024-01-01", "2024-04-01")]
    assert check_held_out(("2024-04-10", "2024-05-01"), train, purge_bars=48, timeframe="1h") == []
    with pytest.raises(ConfigError, match="overlaps the train period"):
        check_held_out(("2024-03-01", "2024-05-01"), train, purge_bars=48, timeframe="1h")
    with pytest.raises(ConfigError, match="purge gap of 48 bars"):
        check_held_out(("2024-04-01T12:00:00Z", "2024-05-01"), train, purge_bars=48, timeframe="1h")
    # exactly the purge gap after the end is fine; a test period before training needs the gap too
    assert check_held_out(("2024-04-03", "2024-05-01"), train, purge_bars=48, timeframe="1h") == []
    with pytest.raises(ConfigError, match="purge gap"):
        check_held_out(("2023-12-01", "2023-12-31T12:00:00Z"), train, purge_bars=48, timeframe="1h")
    forced = check_held_out(("2024-03-01", "2024-05-01"), train, purge_bars=48, timeframe="1h", force=True)
    assert len(forced) == 1
    with pytest.raises(ConfigError, match="must be before"):
        check_held_out(("2024-05-01", "2024-04-01"), train, purge_bars=0, timeframe="1h")


def test_min_purge_is_the_observation_window():
    from tradeready_gym.features import warmup_bars

    assert min_purge_bars({"lookback_window": 30}) == 30 + warmup_bars(["ohlcv"])
    got = min_purge_bars({"lookback_window": 10, "observation_features": ["ohlcv", "macd", "position"]})
    assert got == 10 + warmup_bars(["ohlcv", "macd"]) > 10 + warmup_bars(["ohlcv"])


def test_buy_and_hold_is_the_engine_buying_everything(btc_1h):
    venv = make_eval_vec_env("TradeReady-BTC-v0", 1, {"data": btc_1h, "start_time": PERIOD[0], "end_time": PERIOD[1],
                                                      "fee_rate": 0.0})
    r = buy_and_hold_rollout(venv, 100)
    t0 = int(venv.clock[0])
    m = venv.feed.market  # the env's own slice of the candles (history before the period included)
    close, open_ = m.close[:, 0], m.open[:, 0]
    expected = 10_000 * close[t0 + 1 : t0 + 101] / open_[t0 + 1]  # all cash bought at the next open
    np.testing.assert_allclose(r.equity[1:, 0], expected, rtol=1e-6)
    assert r.n_trades[0] == 1 and r.fees[0] == 0.0


def test_random_policies_are_seeded_single_envs(btc_1h):
    """Env i of the batched random baseline is exactly a single env fed the same seeded actions."""
    kw = {"data": btc_1h, "start_time": PERIOD[0], "end_time": PERIOD[1], "track_training": False}
    venv = make_eval_vec_env("TradeReady-BTC-v0", 8, kw)
    _, info = venv.reset(seed=0)
    n = int(info["total_steps"][0])
    acts = random_actions(venv.single_action_space, n, np.arange(8) + 11)
    r = run_policy(venv, acts, name="random")
    assert r.equity.shape == (n + 1, 8) and len(set(np.round(r.equity[-1], 6))) == 8
    env = gym.make("TradeReady-BTC-v0", **kw)
    env.reset(seed=0)
    eq = [10_000.0]
    for k in range(n):
        _, _, te, _tr, inf = env.step(int(acts[k, 5]))
        eq.append(inf["equity"])
    np.testing.assert_allclose(r.equity[:, 5], eq, rtol=1e-12)
    assert te and r.n_trades[5] == env.unwrapped.metrics().n_trades


def test_evaluate_hold_policy_counts_uses(btc_1h, tmp_path):
    from tradeready_gym.tracking import Store

    store = Store(tmp_path / "t.sqlite")
    store.upsert_run({"id": "00000000-0000-4000-8000-000000000001", "mode": "train", "env_id": "TradeReady-BTC-v0"})
    store.upsert_run({"id": "00000000-0000-4000-8000-000000000002", "mode": "train", "env_id": "TradeReady-BTC-v0"})
    store.upsert_run({"id": "00000000-0000-4000-8000-000000000003", "mode": "train", "env_id": "TradeReady-ETH-v0"})
    hold = lambda obs: np.zeros(obs.shape[0], dtype=np.int64)  # noqa: E731
    st = EvalSettings(random_seeds=100, bootstrap=200)
    kw = {"data": btc_1h, "lookback_window": 12}
    ev = evaluate_policy(hold, "TradeReady-BTC-v0", kw, *PERIOD, settings=st, store=store, model_run_id="m1",
                         used_periods=[("train", "2024-01-01", "2024-04-01")], out_dir=tmp_path / "e1")
    s = ev.summary
    assert s["agent"]["costs"]["roi_pct"] == 0.0 and s["agent"]["costs"]["trades"] == 0
    assert s["agent"]["costs"] == s["agent"]["zero_fees"] and s["flat"]["costs"]["roi_pct"] == 0.0
    bh = s["buy_and_hold"]["costs"]["roi_pct"]
    assert s["verdict"].startswith("Does not beat" if bh >= 0 else "Higher return")
    assert s["deflated_sharpe"]["n_train_runs"] == 2 and s["deflated_sharpe"]["n_trials"] == 2
    assert s["test_period_uses"] == 1 and s["held_out"] is True
    assert s["random"]["costs"]["n_seeds"] == 100
    assert s["random"]["costs"]["trades_per_day"]["median"] > 5
    # random policies pay fees: zero-fee medians are higher
    assert s["random"]["zero_fees"]["roi_pct"]["median"] > s["random"]["costs"]["roi_pct"]["median"]
    assert (tmp_path / "e1" / "evaluation.json").is_file() and (tmp_path / "e1" / "curves.npz").is_file()
    ev2 = evaluate_policy(hold, "TradeReady-BTC-v0", kw, "2024-05-07", "2024-05-20", settings=st, store=store,
                          model_run_id="m2")
    assert ev2.summary["test_period_uses"] == 2 and ev2.summary["deflated_sharpe"]["models_on_period"] == 2
    evals = store.list_runs(mode="eval")
    assert len(evals) == 2 and {r["config"]["model_run_id"] for r in evals} == {"m1", "m2"}


@pytest.mark.parametrize("env_id", ["TradeReady-BTC-Continuous-v0", "TradeReady-Portfolio-v0"])
def test_evaluate_box_spaces(env_id, tmp_path):
    from conftest import rest_market

    syms = ["BTCUSDT", "ETHUSDT", "SOLUSDT"] if "Portfolio" in env_id else ["BTCUSDT"]
    market = rest_market(syms, "1h", "2024-03-01", "2024-06-01")
    n = len(syms)

    def policy(obs):  # a constant, fully invested policy
        return np.full((obs.shape[0], 1), 1.0, dtype=np.float32) if n == 1 else np.full((obs.shape[0], n), 1 / n, np.float32)

    ev = evaluate_policy(policy, env_id, {"data": market, "lookback_window": 8}, *PERIOD,
                         settings=EvalSettings(random_seeds=100, bootstrap=100), store=tmp_path / "s.sqlite")
    s = ev.summary
    assert s["symbols"] == syms and s["buy_and_hold"]["costs"]["trades"] == n
    assert s["random"]["costs"]["n_seeds"] == 100 and s["random"]["costs"]["trades_per_day"]["median"] > 1
    assert s["agent"]["costs"]["trades"] >= 1 and s["agent"]["zero_fees"]["fees"] == 0.0
    # a random policy's actions fill the whole space
    acts = random_actions(gym.spaces.Box(0.0, 1.0, (n,), np.float32), 1000, np.arange(3))
    assert acts.shape == (1000, 3, n) and 0.0 <= acts.min() < 0.01 and 0.99 < acts.max() <= 1.0

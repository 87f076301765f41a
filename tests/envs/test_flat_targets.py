"""A target of zero leaves exactly no position, and exposure counts real positions only."""

from __future__ import annotations

import numpy as np

from tradeready_gym.envs.presets import make_historical_env, make_portfolio_env


def test_portfolio_weights_of_zero_leave_no_dust(market3) -> None:  # type: ignore[no-untyped-def]
    env = make_portfolio_env(data=market3, track_training=False, fee_rate=0.001)
    env.reset(seed=0)
    eng = env.unwrapped.broker
    rng = np.random.default_rng(0)
    held_bars = 0
    for k in range(200):
        w = rng.uniform(0.0, 0.33, size=3).astype(np.float32) if k % 2 == 0 else np.zeros(3, np.float32)
        *_, term, trunc, _ = env.step(w)
        if k % 2 == 1:
            assert np.all(eng.qty[0] == 0.0), eng.qty[0]
        held_bars += bool(np.any(eng.qty[0] != 0.0))
        assert not (term or trunc)
    m = eng.metrics(0)
    assert m.exposure_pct == 100.0 * held_bars / m.n_bars


def test_target_exposure_of_zero_leaves_no_dust(btc) -> None:  # type: ignore[no-untyped-def]
    env = make_historical_env(data=btc, action_type="target_exposure", track_training=False)
    env.reset(seed=0)
    eng = env.unwrapped.broker
    n = env.action_space.n
    for k in range(120):
        a = 2 + k % (n - 2) if k % 2 == 0 else 1  # some exposure, then a target of 0
        env.step(a)
        if k % 2 == 1:
            assert eng.qty[0, 0] == 0.0

"""Rewards: golden numbers computed by hand, single vs batch, the custom-reward protocol, errors."""

from __future__ import annotations

import copy
import itertools
import math
import pickle
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeready_gym.errors import ConfigError
from tradeready_gym.rewards import (
    CompositeReward,
    CustomReward,
    DrawdownPenaltyReward,
    LogReturnReward,
    PnLReward,
    RewardFunction,
    SharpeReward,
    SortinoReward,
)

# equity path used by the golden tests: returns +10%, -5%, +10%, -10%
PATH = [100.0, 110.0, 104.5, 114.95, 103.455]
STEPS = list(itertools.pairwise(PATH))


def _run(r: RewardFunction, steps=STEPS) -> list[float]:
    return [r.compute(a, b, {}) for a, b in steps]


def test_pnl_golden():
    assert _run(PnLReward()) == pytest.approx([10.0, -5.5, 10.45, -11.495], abs=1e-12)


def test_log_return_golden():
    want = [math.log(1.1), math.log(0.95), math.log(1.1), math.log(0.9)]
    assert _run(LogReturnReward()) == pytest.approx(want, abs=1e-12)
    # a wiped-out account stays finite: ln(1e-12 / 100)
    assert LogReturnReward().compute(100.0, 0.0, {}) == pytest.approx(math.log(1e-12 / 100.0))


def test_sharpe_golden_window_3():
    # returns r = 0.1, -0.05, 0.1, -0.1 ; sample std (ddof 1)
    # S1: one return -> 0
    # S2: [0.1, -0.05] mean 0.025, std 0.15/sqrt(2) -> sqrt(2)/6
    # S3: [0.1, -0.05, 0.1] mean 0.05, var 0.015/2 -> 0.05/sqrt(0.0075) = 1/sqrt(3)
    # S4 (window drops 0.1): [-0.05, 0.1, -0.1] mean -1/60, var (13/600)/2 -> -1/sqrt(39)
    s = [0.0, math.sqrt(2) / 6, 1 / math.sqrt(3), -1 / math.sqrt(39)]
    want = [s[0], s[1] - s[0], s[2] - s[1], s[3] - s[2]]
    assert _run(SharpeReward(window=3)) == pytest.approx(want, abs=1e-12)


def test_sortino_golden_window_3():
    # downside deviation sqrt(mean(min(r, 0)^2))
    # So2: [0.1, -0.05] mean 0.025, DD sqrt(0.0025/2) -> 1/sqrt(2)
    # So3: [0.1, -0.05, 0.1] mean 0.05, DD 0.05/sqrt(3) -> sqrt(3)
    # So4: [-0.05, 0.1, -0.1] mean -1/60, DD sqrt(0.0125/3) = sqrt(1/240) -> -1/sqrt(15)
    s = [0.0, 1 / math.sqrt(2), math.sqrt(3), -1 / math.sqrt(15)]
    want = [s[0], s[1] - s[0], s[2] - s[1], s[3] - s[2]]
    assert _run(SortinoReward(window=3)) == pytest.approx(want, abs=1e-12)


def test_ratio_edges_zero_deviation_and_no_losses():
    flat = [(100.0, 100.0)] * 5
    assert _run(SharpeReward(window=3), flat) == [0.0] * 5
    assert _run(SortinoReward(window=3), flat) == [0.0] * 5
    up = [(100.0, 101.0), (101.0, 102.01), (102.01, 103.0301)]  # +1% each: std ~ 1e-17, no downside
    assert _run(SharpeReward(window=3), up) == pytest.approx([0.0, 0.0, 0.0], abs=0)
    assert _run(SortinoReward(window=3), up) == [0.0, 0.0, 0.0]
    # then the first loss: So = mean/DD over [0.01, 0.01, -0.02] = 0 ; over [0.01, -0.02, -0.02]...
    r = SortinoReward(window=3)
    _run(r, up)
    # window [0.01, 0.01, -0.02]: mean 0, so the ratio stays 0
    assert r.compute(103.0301, 103.0301 * 0.98, {}) == pytest.approx(0.0, abs=1e-12)


def test_drawdown_penalty_golden():
    # 100 -> 110 (+10%, peak 110, dd 0)          : 0.1
    # 110 -> 99  (-10%, dd 1 - 99/110 = 0.1)      : -0.1 - 0.5*0.1 = -0.15
    # 99 -> 104.5 (+1/18, dd 1 - 104.5/110 = .05) : 1/18 - 0.025 = 11/360
    # 104.5 -> 121 (new peak, dd 0)               : 121/104.5 - 1
    steps = [(100.0, 110.0), (110.0, 99.0), (99.0, 104.5), (104.5, 121.0)]
    want = [0.1, -0.15, 11 / 360, 121 / 104.5 - 1]
    assert _run(DrawdownPenaltyReward(penalty_coeff=0.5), steps) == pytest.approx(want, abs=1e-12)
    # the first equity of the episode counts as the peak: 100 -> 90 is a 10% drawdown
    assert DrawdownPenaltyReward(2.0).compute(100.0, 90.0, {}) == pytest.approx(-0.1 - 0.2, abs=1e-12)
    assert _run(DrawdownPenaltyReward(0.0), steps) == pytest.approx([0.1, -0.1, 1 / 18, 121 / 104.5 - 1])


def test_composite_golden():
    r = CompositeReward([PnLReward(), LogReturnReward(), SharpeReward(window=3)], weights=[0.01, 2.0, 1.0])
    pnl = [10.0, -5.5, 10.45, -11.495]
    lr = [math.log(1.1), math.log(0.95), math.log(1.1), math.log(0.9)]
    s = [0.0, math.sqrt(2) / 6, 1 / math.sqrt(3), -1 / math.sqrt(39)]
    sh = [s[0], s[1] - s[0], s[2] - s[1], s[3] - s[2]]
    want = [0.01 * a + 2.0 * b + c for a, b, c in zip(pnl, lr, sh, strict=True)]
    assert _run(r) == pytest.approx(want, abs=1e-12)
    assert not r.needs_info
    assert _run(CompositeReward([PnLReward(), PnLReward()])) == pytest.approx([20.0, -11.0, 20.9, -22.99])


def test_reset_starts_a_new_episode():
    for r in (SharpeReward(3), SortinoReward(3), DrawdownPenaltyReward(0.5)):
        first = _run(r)
        r.reset()
        assert _run(r) == first, r
    c = CompositeReward([SharpeReward(3), DrawdownPenaltyReward(1.0)])
    first = _run(c)
    c.reset()
    assert _run(c) == first


# ----------------------------------------------------------------------------- batch protocol
def _all_builtins() -> list[RewardFunction]:
    return [
        PnLReward(),
        LogReturnReward(),
        SharpeReward(window=5),
        SortinoReward(window=5),
        DrawdownPenaltyReward(penalty_coeff=0.7),
        CompositeReward([LogReturnReward(), DrawdownPenaltyReward(0.3), SortinoReward(4)], [1.0, 0.5, 0.2]),
    ]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 6),
    steps=st.integers(1, 30),
)
def test_batch_equals_independent_single_envs_with_resets(seed, n, steps):
    rng = np.random.default_rng(seed)
    eq = 1000.0 * np.exp(np.cumsum(rng.normal(0, 0.03, (steps + 1, n)), axis=0))
    resets = rng.random((steps, n)) < 0.1
    for proto in _all_builtins():
        batch = copy.deepcopy(proto)
        batch.bind(n)
        singles = [copy.deepcopy(proto) for _ in range(n)]
        for t in range(steps):
            if resets[t].any():
                batch.reset_envs(resets[t])
                for i in np.flatnonzero(resets[t]):
                    singles[i].reset()
            got = batch.compute_batch(eq[t], eq[t + 1], None)
            assert got.dtype == np.float64 and got.shape == (n,)
            want = [singles[i].compute(float(eq[t, i]), float(eq[t + 1, i]), {}) for i in range(n)]
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_builtins_do_not_need_info_and_are_picklable_and_deterministic():
    for r in _all_builtins():
        assert r.needs_info is False
        r.bind(2)
        r.compute_batch(np.array([100.0, 50.0]), np.array([101.0, 49.0]))
        clone = pickle.loads(pickle.dumps(r))
        a = r.compute_batch(np.array([101.0, 49.0]), np.array([99.0, 52.0]))
        b = clone.compute_batch(np.array([101.0, 49.0]), np.array([99.0, 52.0]))
        np.testing.assert_array_equal(a, b)


class FeeAwareReward(CustomReward):
    """A user reward: PnL minus twice the fees of the step; counts its steps per episode."""

    def __init__(self, fee_weight: float = 2.0) -> None:
        self.fee_weight = fee_weight
        self.steps = 0

    def compute(self, prev_equity: float, curr_equity: float, info: dict[str, Any]) -> float:
        self.steps += 1
        fees = sum(f["fee"] for f in info.get("filled_orders", []))
        return curr_equity - prev_equity - self.fee_weight * fees + 0.001 * self.steps

    def reset(self) -> None:
        self.steps = 0


def test_custom_subclass_through_the_batch_protocol():
    r = FeeAwareReward()
    assert r.needs_info is True
    r.bind(3)
    assert r.n_envs == 3
    infos = [
        {"filled_orders": [{"fee": 0.5}]},
        {"filled_orders": []},
        {"filled_orders": [{"fee": 1.0}, {"fee": 2.0}]},
    ]
    out = r.compute_batch(np.array([100.0, 100.0, 100.0]), np.array([101.0, 99.0, 100.0]), infos)
    np.testing.assert_allclose(out, [1 - 1 + 0.001, -1 + 0.001, -6 + 0.001], atol=1e-12)
    out = r.compute_batch(np.array([101.0, 99.0, 100.0]), np.array([101.0, 99.0, 100.0]), None)
    np.testing.assert_allclose(out, [0.002, 0.002, 0.002], atol=1e-12)  # per-env state: second step each
    r.reset_envs(np.array([False, True, False]))
    out = r.compute_batch(np.array([1.0, 1.0, 1.0]), np.array([1.0, 1.0, 1.0]))
    np.testing.assert_allclose(out, [0.003, 0.001, 0.003], atol=1e-12)
    assert r.steps == 0  # the template itself is never stepped by the batch path
    clone = pickle.loads(pickle.dumps(r))
    np.testing.assert_array_equal(
        clone.compute_batch([1.0] * 3, [2.0] * 3), r.compute_batch([1.0] * 3, [2.0] * 3)
    )
    # bind again: fresh state
    r.bind(2)
    np.testing.assert_allclose(r.compute_batch([1.0, 1.0], [1.0, 1.0]), [0.001, 0.001])


def test_subclass_of_a_builtin_overriding_compute_uses_its_override():
    class ScaledSharpe(SharpeReward):
        def compute(self, prev_equity, curr_equity, info):
            return 10.0 * super().compute(prev_equity, curr_equity, info) + info.get("bonus", 0.0)

    r = ScaledSharpe(window=3)
    assert r.needs_info is True
    r.bind(2)
    want = np.array([10.0 * (math.sqrt(2) / 6), 10.0 * (math.sqrt(2) / 6) + 1.0])
    r.compute_batch([100.0, 100.0], [110.0, 110.0], [{}, {}])
    got = r.compute_batch([110.0, 110.0], [104.5, 104.5], [{}, {"bonus": 1.0}])
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_composite_with_a_user_reward_passes_info():
    c = CompositeReward([PnLReward(), FeeAwareReward(fee_weight=1.0)], weights=[1.0, -1.0])
    assert c.needs_info is True
    c.bind(2)
    out = c.compute_batch([100.0, 100.0], [105.0, 95.0], [{"filled_orders": [{"fee": 1.0}]}, {}])
    # PnL - (PnL - fee + 0.001)
    np.testing.assert_allclose(out, [1.0 - 0.001, -0.001], atol=1e-12)
    assert c.compute_batch([1.0, 1.0], [1.0, 1.0], [{}, {}]) == pytest.approx([-0.002, -0.002])


def test_unbound_compute_batch_binds_to_the_batch_size():
    r = SharpeReward(window=3)
    assert r.n_envs is None
    r.compute_batch(np.array([1.0, 2.0, 3.0]), np.array([1.1, 2.1, 3.1]))
    assert r.n_envs == 3


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda: SharpeReward(window=1), "window=1"),
        (lambda: SortinoReward(window=2.5), "window=2.5"),
        (lambda: DrawdownPenaltyReward(penalty_coeff=-1), "penalty_coeff=-1"),
        (lambda: DrawdownPenaltyReward(penalty_coeff=float("nan")), "penalty_coeff=nan"),
        (lambda: CompositeReward([]), "at least one"),
        (lambda: CompositeReward([PnLReward()], weights=[1.0, 2.0]), "one weight per reward"),
        (lambda: CompositeReward([PnLReward(), "pnl"]), "rewards[1]"),
        (lambda: CompositeReward([PnLReward()], weights=[float("inf")]), "finite"),
    ],
)
def test_bad_construction(make, needle):
    with pytest.raises(ConfigError) as e:
        make()
    assert needle in str(e.value)
    p = PnLReward()
    with pytest.raises(ConfigError, match="same instance twice"):
        CompositeReward([p, p])


def test_bad_batch_calls():
    r = PnLReward()
    r.bind(2)
    with pytest.raises(ConfigError, match=r"prev_equity must have shape \(2,\)"):
        r.compute_batch(np.ones(3), np.ones(3))
    with pytest.raises(ConfigError, match=r"curr_equity\[1\]=nan"):
        r.compute_batch(np.ones(2), np.array([1.0, np.nan]))
    with pytest.raises(ConfigError, match="mask must be a bool array"):
        r.reset_envs(np.array([True]))
    with pytest.raises(ConfigError, match="n_envs=0"):
        r.bind(0)
    with pytest.raises(ConfigError, match="scalar compute"):
        r.compute(1.0, 2.0, {})
    with pytest.raises(ConfigError, match="not bound"):
        SharpeReward().reset_envs(np.array([True]))
    with pytest.raises(ConfigError, match="not bound"):
        FeeAwareReward().reset_envs(np.array([True]))
    with pytest.raises(ConfigError, match="infos must hold one dict per env"):
        FeeAwareReward().compute_batch([1.0, 1.0], [1.0, 1.0], [{}])

    class Broken(RewardFunction):
        def compute(self, prev_equity, curr_equity, info):
            return float("nan")

    with pytest.raises(ConfigError, match=r"Broken\.compute returned nan for env 0"):
        Broken().compute_batch([1.0], [1.0])
    with pytest.raises(NotImplementedError, match="must implement compute"):
        RewardFunction().compute_batch([1.0], [1.0])


# ----------------------------------------------------------------------------- configuration
class Scaled(CustomReward):
    """A user reward with a parameter, reporting it for its config."""

    def __init__(self, factor: float = 1.0) -> None:
        self.factor = factor

    def compute(self, prev_equity, curr_equity, info):
        return self.factor * (curr_equity - prev_equity)

    def config_params(self):
        return {"factor": self.factor}


def test_config_round_trip_through_json():
    import json

    from tradeready_gym.rewards import reward_from_config

    rewards = [
        *_all_builtins(),
        Scaled(3.0),
        CompositeReward([Scaled(2.0), SharpeReward(7)], weights=[0.5, 2.0]),
    ]
    for r in rewards:
        cfg = json.loads(json.dumps(r.get_config()))
        back = reward_from_config(cfg)
        assert type(back) is type(r)
        assert back.get_config() == r.get_config()
        assert _run(back) == _run(copy.deepcopy(r))
    assert SharpeReward(9).get_config() == {"type": "SharpeReward", "params": {"window": 9}}
    assert Scaled(3.0).get_config()["type"] == f"{__name__}:Scaled"


@pytest.mark.parametrize(
    ("cfg", "needle"),
    [
        ({"type": "Sharpe"}, "type='Sharpe' is unknown; allowed: PnLReward"),
        ({"type": "SharpeReward", "params": {"windw": 3}}, "do not fit reward 'SharpeReward'"),
        ({"type": "SharpeReward", "params": {"window": 1}}, "window=1"),
        ({"type": "no.such.module:Reward"}, "cannot be imported"),
        ({"type": "json:dumps"}, "is not a RewardFunction subclass"),
        ({"type": "PnLReward", "params": [1]}, "must be a dict"),
        ("PnLReward", "must be a dict with a 'type'"),
    ],
)
def test_bad_configs(cfg, needle):
    from tradeready_gym.rewards import reward_from_config

    with pytest.raises(ConfigError) as e:
        reward_from_config(cfg)
    assert needle in str(e.value)

"""The finished episode's metrics for the terminal step's ``info`` and for training tracking.

The terminal step of an episode carries ``info["episode_metrics"]``: a dict of plain Python numbers
(`EPISODE_METRIC_KEYS`) describing the episode that just ended, computed before any reset, so that
auto-resetting trainers can log them. In a vector env the same key holds ``(N,)`` arrays (NaN for
envs that did not finish), with the mask ``info["_episode_metrics"]``; with same-step autoreset it
sits in ``info["final_info"]``.

``reward_sum`` costs nothing per step: the standard compiled step's reward is the equity change
(`PnLReward`), whose sum is ``final equity - starting equity``; any other reward is summed by a thin
wrapper around the bound reward (`install_reward_sums`), on the component path only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "EPISODE_METRIC_KEYS",
    "batch_episode_metrics",
    "install_reward_sums",
    "single_episode_metrics",
]

#: Keys of ``info["episode_metrics"]``.
EPISODE_METRIC_KEYS: tuple[str, ...] = (
    "roi_pct",
    "sharpe",
    "sortino",
    "max_drawdown_pct",
    "win_rate",
    "profit_factor",
    "trades",
    "fees",
    "exposure_pct",
    "buy_hold_roi_pct",
    "final_equity",
    "length",
    "reward_sum",
)
_INT_KEYS = ("trades", "length")
_FROM_TABLE = {
    "roi_pct": "roi_pct",
    "sharpe": "sharpe",
    "sortino": "sortino",
    "max_drawdown_pct": "max_drawdown_pct",
    "win_rate": "win_rate",
    "profit_factor": "profit_factor",
    "trades": "n_trades",
    "fees": "fees_paid",
    "exposure_pct": "exposure_pct",
    "buy_hold_roi_pct": "buy_and_hold_roi_pct",
    "final_equity": "final_equity",
}


class _SummingReward:
    """Wraps a bound reward and sums each env's rewards since its last reset."""

    def __init__(self, inner: Any, n_envs: int) -> None:
        self.inner = inner
        self.sums = np.zeros(n_envs, dtype=np.float64)
        self.needs_info = bool(getattr(inner, "needs_info", True))

    def reset_envs(self, mask: np.ndarray) -> None:
        self.sums[mask] = 0.0
        self.inner.reset_envs(mask)

    def compute_batch(self, prev: np.ndarray, curr: np.ndarray, infos: Any) -> np.ndarray:
        out = self.inner.compute_batch(prev, curr, infos)
        self.sums += out
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def install_reward_sums(core: Any) -> None:
    """Sum rewards per env on the component path (the compiled path needs no help, see module doc)."""
    if getattr(core, "_fused", None) is None and not isinstance(core.reward, _SummingReward):
        core.reward = _SummingReward(core.reward, core.n_envs)


def _reward_sums(core: Any, idx: np.ndarray) -> np.ndarray:
    reward = core.reward
    if isinstance(reward, _SummingReward):
        return reward.sums[idx].copy()
    from tradeready_gym.engine import _kernel as K

    acct = core.engine._acct
    return acct[idx, K.A_EQUITY] - acct[idx, K.A_START_EQ]


def batch_episode_metrics(core: Any, idx: np.ndarray) -> dict[str, np.ndarray]:
    """`EPISODE_METRIC_KEYS` as arrays over the envs ``idx`` of a `BatchCore` (index array)."""
    from tradeready_gym.engine.metrics import metrics_table

    eng = core.engine
    tab = metrics_table(eng._acct[idx], eng._clock[idx], eng._close, eng.interval_ns)
    out = {k: tab[src] for k, src in _FROM_TABLE.items()}
    out["length"] = np.asarray(core.state.steps[idx], dtype=np.int64)
    out["reward_sum"] = _reward_sums(core, idx)
    return out


def single_episode_metrics(core: Any) -> dict[str, Any]:
    """`EPISODE_METRIC_KEYS` of env 0 as plain Python numbers (NaN where a ratio is undefined).

    The formulas of `tradeready_gym.engine.metrics.metrics_table`, evaluated on one account row with
    Python floats (a few microseconds, against tens for the array version on a batch of one).
    """
    from tradeready_gym.engine import _kernel as K

    eng = core.engine
    a = eng._acct[0].tolist()
    nan = math.nan
    n = a[K.A_NRET]
    eq = a[K.A_EQUITY]
    start = a[K.A_START_EQ]
    mean = a[K.A_MEAN]
    sqrt_ppy = _sqrt_ppy(eng.interval_ns)
    sharpe = nan
    if n > 1:
        std = math.sqrt(a[K.A_M2] / max(n - 1, 1))
        if std > 0:
            sharpe = mean / std * sqrt_ppy
    if n < 1:
        sortino = nan
    else:
        down = math.sqrt(a[K.A_DOWN2] / max(n, 1))
        sortino = mean * sqrt_ppy / down if down > 0 else (math.inf if mean > 0 else nan)
    closed = a[K.A_NCLOSED]
    gp, gl = a[K.A_GPROFIT], a[K.A_GLOSS]
    close = eng._close
    t, t0 = int(eng._clock[0]), int(a[K.A_START_T])
    now, then = close[t].tolist(), close[t0].tolist()
    bh = 100.0 * (sum(x / y for x, y in zip(now, then, strict=True)) / len(now) - 1.0)
    reward = core.reward
    return {
        "roi_pct": 100.0 * (eq / start - 1.0),
        "sharpe": sharpe,
        "sortino": sortino,
        "max_drawdown_pct": 100.0 * a[K.A_MAXDD],
        "win_rate": a[K.A_NWIN] / closed if closed > 0 else nan,
        "profit_factor": gp / gl if gl > 0 else (math.inf if gp > 0 else nan),
        "trades": int(a[K.A_NFILLS]),
        "fees": a[K.A_FEES],
        "exposure_pct": 100.0 * a[K.A_EXPO] / max(n, 1) if n > 0 else 0.0,
        "buy_hold_roi_pct": bh,
        "final_equity": eq,
        "length": int(core.state.steps[0]),
        "reward_sum": float(reward.sums[0]) if isinstance(reward, _SummingReward) else eq - start,
    }


_SQRT_PPY: dict[int, float] = {}


def _sqrt_ppy(interval_ns: int) -> float:
    v = _SQRT_PPY.get(interval_ns)
    if v is None:
        from tradeready_gym.engine.metrics import periods_per_year

        v = _SQRT_PPY[interval_ns] = math.sqrt(periods_per_year(interval_ns))
    return v

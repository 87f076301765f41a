"""Episode metrics computed from the running statistics kept in the account table.

No equity history is stored: every step updates, per account, the count / mean / M2 (Welford) of
the bar returns, the sum of squared negative returns, the running peak and maximum drawdown, trade
counters, fees and exposure. The formulas:

* ``roi_pct = 100 * (equity / starting_equity - 1)``
* bar return ``r_k = equity_k / equity_{k-1} - 1``; ``ppy = 365 days / bar interval``
* ``sharpe = mean(r) / std(r, ddof=1) * sqrt(ppy)`` (risk-free rate 0)
* ``sortino = mean(r) * sqrt(ppy) / sqrt(mean(min(r, 0) ** 2))`` (target 0)
* ``max_drawdown_pct = 100 * min_k(equity_k / max_{j<=k} equity_j - 1)`` (starting equity included)
* ``win_rate`` = winning closed trades / closed trades, ``profit_factor`` = gross profit / gross
  loss, where a closed trade is a fill that reduces a position and its PnL is net of its own fee
  and of the pro-rata entry fees
* ``exposure_pct`` = bars that ended with an open position (gross exposure of at least
  ``DUST_NOTIONAL`` = 1e-8 quote currency) / bars stepped
* ``buy_and_hold_roi_pct`` = equal-weight buy and hold of all symbols from close[start] to
  close[t], without costs
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from tradeready_gym.engine import _kernel as K
from tradeready_gym.timeframes import periods_per_year

__all__ = ["EpisodeMetrics", "metrics_table", "periods_per_year"]


@dataclass(frozen=True)
class EpisodeMetrics:
    """The metrics of one account's episode so far (NaN where a ratio is undefined)."""

    roi_pct: float
    sharpe: float
    sortino: float
    max_drawdown_pct: float
    win_rate: float
    profit_factor: float
    n_trades: int
    n_closed_trades: int
    fees_paid: float
    slippage_paid: float
    borrow_paid: float
    exposure_pct: float
    buy_and_hold_roi_pct: float
    n_bars: int
    starting_equity: float
    final_equity: float
    n_liquidations: int
    n_rejected: int
    gross_profit: float
    gross_loss: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: NaN and infinity become None."""
        out: dict[str, Any] = {}
        for k, v in asdict(self).items():
            out[k] = None if isinstance(v, float) and not math.isfinite(v) else v
        return out


def metrics_table(
    acct: np.ndarray, clock: np.ndarray, close: np.ndarray, interval_ns: int
) -> dict[str, np.ndarray]:
    """Every metric for every account as ``(N,)`` arrays (the batched form of `EpisodeMetrics`)."""
    ppy = periods_per_year(interval_ns)
    n = acct[:, K.A_NRET]
    eq = acct[:, K.A_EQUITY]
    start = acct[:, K.A_START_EQ]
    mean = acct[:, K.A_MEAN]
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(n > 1, acct[:, K.A_M2] / np.maximum(n - 1, 1), np.nan)
        std = np.sqrt(var)
        sharpe = np.where((n > 1) & (std > 0), mean / std * math.sqrt(ppy), np.nan)
        down = np.sqrt(acct[:, K.A_DOWN2] / np.maximum(n, 1))
        sortino = np.where(
            n < 1,
            np.nan,
            np.where(down > 0, mean * math.sqrt(ppy) / down, np.where(mean > 0, np.inf, np.nan)),
        )
        closed = acct[:, K.A_NCLOSED]
        win_rate = np.where(closed > 0, acct[:, K.A_NWIN] / closed, np.nan)
        gp = acct[:, K.A_GPROFIT]
        gl = acct[:, K.A_GLOSS]
        pf = np.where(gl > 0, gp / gl, np.where(gp > 0, np.inf, np.nan))
        exposure = np.where(n > 0, 100.0 * acct[:, K.A_EXPO] / np.maximum(n, 1), 0.0)
        t0 = acct[:, K.A_START_T].astype(np.int64)
        bh = 100.0 * (np.mean(close[clock] / close[t0], axis=1) - 1.0)
    return {
        "roi_pct": 100.0 * (eq / start - 1.0),
        "sharpe": sharpe,
        "sortino": sortino,
        "max_drawdown_pct": 100.0 * acct[:, K.A_MAXDD],
        "win_rate": win_rate,
        "profit_factor": pf,
        "n_trades": acct[:, K.A_NFILLS].astype(np.int64),
        "n_closed_trades": closed.astype(np.int64),
        "fees_paid": acct[:, K.A_FEES].copy(),
        "slippage_paid": acct[:, K.A_SLIP].copy(),
        "borrow_paid": acct[:, K.A_BORROW].copy(),
        "exposure_pct": exposure,
        "buy_and_hold_roi_pct": bh,
        "n_bars": n.astype(np.int64),
        "starting_equity": start.copy(),
        "final_equity": eq.copy(),
        "n_liquidations": acct[:, K.A_NLIQ].astype(np.int64),
        "n_rejected": acct[:, K.A_NREJECT].astype(np.int64),
        "gross_profit": gp.copy(),
        "gross_loss": gl.copy(),
    }


def metrics_row(table: dict[str, np.ndarray], i: int) -> EpisodeMetrics:
    """Row ``i`` of a `metrics_table` as an `EpisodeMetrics`."""
    kw: dict[str, Any] = {}
    for k, v in table.items():
        x = v[i]
        kw[k] = int(x) if np.issubdtype(v.dtype, np.integer) else float(x)
    return EpisodeMetrics(**kw)

"""Statistics of honest evaluation: annualised metrics, PSR / DSR, bootstrap CIs, percentiles.

Everything works on an equity curve (one value per decision bar, the starting equity first) or on
its simple bar returns ``r_k = E_k / E_{k-1} - 1``. Annualisation uses the bar interval through the
library's one `tradeready_gym.timeframes.periods_per_year` (365-day years: crypto trades around the
clock; 8760 bars a year at 1h). The formulas:

* ``sharpe = mean(r) / std(r, ddof=1) * sqrt(ppy)`` (risk-free rate 0, as the engine's metrics);
* ``sortino = mean(r) * sqrt(ppy) / sqrt(mean(min(r, 0) ** 2))`` (target 0);
* ``cagr = (E_n / E_0) ** (ppy / n) - 1``; ``volatility = std(r, ddof=1) * sqrt(ppy)``;
* ``max_drawdown = min_k(E_k / max_{j<=k} E_j - 1)``; ``calmar = cagr / |max_drawdown|``.

These are quantstats' definitions with ``periods=ppy`` (tests cross-check them).

Probabilistic Sharpe ratio (Bailey & López de Prado, 2012), with the per-bar Sharpe ``SR``, the
skewness ``g3`` and the (non-excess) kurtosis ``g4`` of the bar returns and ``n`` returns::

    PSR(SR*) = Phi( (SR - SR*) * sqrt(n - 1) / sqrt(1 - g3 * SR + (g4 - 1) / 4 * SR**2) )

Deflated Sharpe ratio (Bailey & López de Prado, 2014): ``DSR = PSR(SR0)`` with the expected
maximum Sharpe of ``N`` unskilled trials::

    SR0 = sqrt(V) * ((1 - gamma) * Phi^-1(1 - 1/N) + gamma * Phi^-1(1 - 1/(N e)))

where ``gamma`` is the Euler-Mascheroni constant and ``V`` the variance of the trials' per-bar
Sharpe ratios. When the trials' Sharpe ratios are not known, ``V`` is the variance of the Sharpe
estimator itself, ``(1 - g3 SR + (g4 - 1) / 4 SR^2) / (n - 1)``. With ``N = 1``, ``SR0 = 0`` and
the DSR equals ``PSR(0)``.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np

from tradeready_gym.errors import ConfigError
from tradeready_gym.timeframes import periods_per_year

__all__ = [
    "EULER_GAMMA",
    "annualized_metrics",
    "bar_returns",
    "bootstrap_sharpe_difference",
    "deflated_sharpe_ratio",
    "drawdown_curve",
    "expected_max_sharpe",
    "percentile_of",
    "probabilistic_sharpe_ratio",
    "psr_from_moments",
    "sharpe_ratio",
    "sharpe_variance",
    "stationary_bootstrap_indices",
]

#: The Euler-Mascheroni constant.
EULER_GAMMA = 0.5772156649015329
_N = NormalDist()


def _curve(equity: Any, name: str = "equity") -> np.ndarray:
    e = np.asarray(equity, dtype=np.float64).ravel()
    if e.size < 2:
        raise ConfigError(f"{name} has {e.size} values; allowed: an equity curve of at least 2 values")
    if not np.isfinite(e).all() or (e <= 0).any():
        raise ConfigError(f"{name} holds non-finite or non-positive values; allowed: positive finite equity")
    return e


def bar_returns(equity: Any) -> np.ndarray:
    """Simple returns of an equity curve: ``E[1:] / E[:-1] - 1``."""
    e = _curve(equity)
    return e[1:] / e[:-1] - 1.0


def drawdown_curve(equity: Any) -> np.ndarray:
    """``E_k / max_{j<=k} E_j - 1`` (<= 0) for every point of the curve."""
    e = _curve(equity)
    return e / np.maximum.accumulate(e) - 1.0


def _ppy(interval_ns: int | None, ppy: float | None) -> float:
    if ppy is not None:
        if not (ppy > 0):
            raise ConfigError(f"ppy={ppy!r} is not allowed; allowed: a positive number of bars per year")
        return float(ppy)
    if interval_ns is None or interval_ns <= 0:
        raise ConfigError(f"interval_ns={interval_ns!r} is not allowed; allowed: the bar interval in ns (> 0)")
    return periods_per_year(int(interval_ns))


def sharpe_ratio(returns: Any, ppy: float = 1.0) -> float:
    """``mean / std(ddof=1) * sqrt(ppy)``; NaN for fewer than 2 returns or zero variance."""
    r = np.asarray(returns, dtype=np.float64)
    if r.size < 2:
        return math.nan
    sd = float(r.std(ddof=1))
    if not sd > 0:
        return math.nan
    return float(r.mean()) / sd * math.sqrt(ppy)


def annualized_metrics(
    equity: Any, *, interval_ns: int | None = None, ppy: float | None = None
) -> dict[str, float]:
    """Metrics of one equity curve, annualised for the bar size.

    Args:
        equity: ``(n + 1,)`` equity at each decision bar, the starting equity first.
        interval_ns: bar interval in ns (e.g. ``timeframe_ns("1h")``); or give ``ppy``.
        ppy: bars per year, overriding ``interval_ns``.

    Returns:
        ``total_return_pct``, ``cagr_pct``, ``volatility_pct``, ``sharpe``, ``sortino``,
        ``max_drawdown_pct`` (<= 0), ``calmar``, ``n_bars``, ``periods_per_year``. NaN where undefined.
    """
    p = _ppy(interval_ns, ppy)
    e = _curve(equity)
    r = e[1:] / e[:-1] - 1.0
    n = r.size
    total = e[-1] / e[0] - 1.0
    cagr = (e[-1] / e[0]) ** (p / n) - 1.0 if n > 0 else math.nan
    vol = float(r.std(ddof=1)) * math.sqrt(p) if n > 1 else math.nan
    down = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    mean = float(r.mean())
    if down > 0:
        sortino = mean * math.sqrt(p) / down
    else:
        sortino = math.inf if mean > 0 else math.nan
    mdd = float((e / np.maximum.accumulate(e) - 1.0).min())
    calmar = cagr / abs(mdd) if mdd < 0 else math.nan
    return {
        "total_return_pct": 100.0 * total,
        "cagr_pct": 100.0 * cagr,
        "volatility_pct": 100.0 * vol,
        "sharpe": sharpe_ratio(r, p),
        "sortino": sortino,
        "max_drawdown_pct": 100.0 * mdd,
        "calmar": calmar,
        "n_bars": float(n),
        "periods_per_year": p,
    }


def _moments(r: np.ndarray) -> tuple[float, float, float]:
    """Per-bar Sharpe (ddof=1), skewness and non-excess kurtosis (population moments)."""
    mu = float(r.mean())
    sd1 = float(r.std(ddof=1))
    sd0 = float(r.std(ddof=0))
    sr = mu / sd1 if sd1 > 0 else math.nan
    if sd0 > 0:
        z = (r - mu) / sd0
        g3 = float(np.mean(z**3))
        g4 = float(np.mean(z**4))
    else:
        g3, g4 = 0.0, 3.0
    return sr, g3, g4


def sharpe_variance(sr: float, skew: float, kurt: float, n: int) -> float:
    """Variance of the per-bar Sharpe estimator: ``(1 - g3 SR + (g4 - 1) / 4 SR^2) / (n - 1)``."""
    return (1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr) / (n - 1)


def psr_from_moments(sr: float, sr_benchmark: float, skew: float, kurt: float, n: int) -> float:
    """PSR from the per-bar Sharpe ``sr``, skewness, non-excess kurtosis and the number of returns ``n``."""
    denom = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr
    if n < 2 or not denom > 0 or not math.isfinite(sr):
        return math.nan
    return _N.cdf((sr - sr_benchmark) * math.sqrt(n - 1) / math.sqrt(denom))


def probabilistic_sharpe_ratio(returns: Any, sr_benchmark: float = 0.0) -> float:
    """Probability that the true per-bar Sharpe exceeds ``sr_benchmark`` (per bar, not annualised).

    NaN for fewer than 3 returns or zero variance.
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.size < 3:
        return math.nan
    sr, g3, g4 = _moments(r)
    return psr_from_moments(sr, sr_benchmark, g3, g4, r.size)


def expected_max_sharpe(n_trials: int, variance: float) -> float:
    """Expected maximum per-bar Sharpe of ``n_trials`` unskilled trials with Sharpe variance ``variance``."""
    if isinstance(n_trials, bool) or int(n_trials) != n_trials or n_trials < 1:
        raise ConfigError(f"n_trials={n_trials!r} is not allowed; allowed: an integer >= 1")
    if variance < 0 or not math.isfinite(variance):
        raise ConfigError(f"variance={variance!r} is not allowed; allowed: a finite number >= 0")
    n = int(n_trials)
    if n == 1:
        return 0.0
    return math.sqrt(variance) * (
        (1.0 - EULER_GAMMA) * _N.inv_cdf(1.0 - 1.0 / n) + EULER_GAMMA * _N.inv_cdf(1.0 - 1.0 / (n * math.e))
    )


def deflated_sharpe_ratio(
    returns: Any, n_trials: int, trial_sharpes: Any = None
) -> dict[str, float]:
    """Deflated Sharpe ratio of ``returns`` given ``n_trials`` configurations tried.

    Args:
        returns: bar returns of the selected strategy.
        n_trials: number of configurations tried (>= 1).
        trial_sharpes: per-bar Sharpe ratios of the trials, when known (at least 2): their variance is
            ``V``; otherwise ``V`` is the variance of the Sharpe estimator of ``returns``.

    Returns:
        ``dsr``, ``sr0`` (per bar), ``sr`` (per bar), ``variance``, ``n_trials`` and
        ``trials_variance`` (1.0 when the trials' Sharpe ratios gave ``V``, else 0.0).
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.size < 3:
        return {"dsr": math.nan, "sr0": math.nan, "sr": math.nan, "variance": math.nan,
                "n_trials": float(n_trials), "trials_variance": 0.0}
    sr, g3, g4 = _moments(r)
    ts = None if trial_sharpes is None else np.asarray(trial_sharpes, dtype=np.float64)
    ts = None if ts is None else ts[np.isfinite(ts)]
    if ts is not None and ts.size >= 2:
        var = float(ts.var(ddof=1))
        from_trials = 1.0
    else:
        var = sharpe_variance(sr, g3, g4, r.size) if math.isfinite(sr) else math.nan
        from_trials = 0.0
    if not math.isfinite(var):
        return {"dsr": math.nan, "sr0": math.nan, "sr": sr, "variance": var,
                "n_trials": float(n_trials), "trials_variance": from_trials}
    sr0 = expected_max_sharpe(n_trials, var)
    return {
        "dsr": probabilistic_sharpe_ratio(r, sr0),
        "sr0": sr0,
        "sr": sr,
        "variance": var,
        "n_trials": float(n_trials),
        "trials_variance": from_trials,
    }


def stationary_bootstrap_indices(
    n: int, n_boot: int, mean_block: float, rng: np.random.Generator
) -> np.ndarray:
    """``(n_boot, n)`` indices of Politis & Romano's stationary bootstrap (circular, geometric blocks).

    Each position starts a new block with probability ``1 / mean_block`` (a uniform random start),
    otherwise continues the previous block at the next index (wrapping around).
    """
    if n < 1 or n_boot < 1:
        raise ConfigError(f"n={n}, n_boot={n_boot} are not allowed; allowed: both >= 1")
    if not mean_block >= 1:
        raise ConfigError(f"mean_block={mean_block!r} is not allowed; allowed: >= 1")
    p = 1.0 / float(mean_block)
    starts = rng.integers(0, n, size=(n_boot, n))
    new = rng.random((n_boot, n)) < p
    new[:, 0] = True
    # offset within the current block: positions since the last block start
    pos = np.arange(n)
    last_start = np.maximum.accumulate(np.where(new, pos, 0), axis=1)
    origin = np.take_along_axis(starts, last_start, axis=1)
    return (origin + (pos - last_start)) % n


def bootstrap_sharpe_difference(
    returns_a: Any,
    returns_b: Any,
    *,
    ppy: float,
    n_boot: int = 2000,
    mean_block: float | None = None,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, float]:
    """Stationary-bootstrap CI of ``Sharpe(a) - Sharpe(b)`` (annualised), resampling bars in pairs.

    Args:
        returns_a, returns_b: bar returns of the same bars (e.g. the agent and buy-and-hold).
        ppy: bars per year.
        n_boot: resamples.
        mean_block: mean block length (default ``round(n ** (1/3))``, at least 1).
        confidence: two-sided level of the percentile interval.
        seed: seed of the resampling (same seed, same interval).

    Returns:
        ``diff`` (on the data), ``low``, ``high``, ``p_le_zero`` (share of resamples with a
        difference <= 0), ``n_boot``, ``mean_block``, ``confidence``.
    """
    a = np.asarray(returns_a, dtype=np.float64).ravel()
    b = np.asarray(returns_b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ConfigError(f"returns_a has {a.size} bars and returns_b {b.size}; allowed: the same bars")
    if a.size < 3:
        raise ConfigError(f"returns have {a.size} bars; allowed: at least 3")
    if not (0.0 < confidence < 1.0):
        raise ConfigError(f"confidence={confidence!r} is not allowed; allowed: 0 < confidence < 1")
    n = a.size
    block = max(1.0, float(round(n ** (1.0 / 3.0)))) if mean_block is None else float(mean_block)
    rng = np.random.default_rng(seed)
    idx = stationary_bootstrap_indices(n, int(n_boot), block, rng)

    def sharpe_rows(x: np.ndarray) -> np.ndarray:
        s = x[idx]
        sd = s.std(axis=1, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(sd > 0, s.mean(axis=1) / sd, 0.0)
        return out * math.sqrt(ppy)

    diffs = sharpe_rows(a) - sharpe_rows(b)
    sa, sb = sharpe_ratio(a, ppy), sharpe_ratio(b, ppy)
    alpha = (1.0 - confidence) / 2.0
    return {
        "diff": (0.0 if not math.isfinite(sa) else sa) - (0.0 if not math.isfinite(sb) else sb),
        "low": float(np.quantile(diffs, alpha)),
        "high": float(np.quantile(diffs, 1.0 - alpha)),
        "p_le_zero": float(np.mean(diffs <= 0.0)),
        "n_boot": float(n_boot),
        "mean_block": block,
        "confidence": confidence,
    }


def percentile_of(value: float, sample: Any) -> float:
    """Percentile rank (0-100) of ``value`` in ``sample``: share below plus half the ties; NaN values dropped."""
    s = np.asarray(sample, dtype=np.float64).ravel()
    s = s[np.isfinite(s)]
    if s.size == 0 or not math.isfinite(value):
        return math.nan
    return 100.0 * (float(np.sum(s < value)) + 0.5 * float(np.sum(s == value))) / s.size

"""A seeded synthetic candle generator with volatility clustering, for tests, demos and benchmarks.

Returns follow a GARCH(1, 1) process with Student-t shocks (fat tails, calm and wild periods),
not plain geometric Brownian motion. The result is always labelled: ``MarketData.synthetic`` is True
and every symbol name starts with ``SYNTH-`` (Binance symbols never contain a dash), so synthetic
candles can never stand in for a real symbol.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from tradeready_gym.data.market import MarketData
from tradeready_gym.errors import ConfigError
from tradeready_gym.timeframes import parse_time, periods_per_year, timeframe_ns
from tradeready_gym.validation import SYNTHETIC_PREFIX as _PREFIX

__all__ = ["SYNTHETIC_PREFIX", "generate_synthetic", "is_synthetic_symbol"]

#: Every synthetic symbol starts with this prefix (defined with the symbol rule in `tradeready_gym.validation`).
SYNTHETIC_PREFIX: Final = _PREFIX


def is_synthetic_symbol(symbol: str) -> bool:
    """True for names reserved to synthetic data (``SYNTH-...``)."""
    return symbol.upper().startswith(SYNTHETIC_PREFIX)


def _garch_path(
    rng: np.random.Generator, n: int, var: float, alpha: float, beta: float, nu: float
) -> np.ndarray:
    """Per-bar log returns of a GARCH(1, 1) with unit-variance Student-t shocks."""
    shocks = rng.standard_t(nu, size=n) * np.sqrt((nu - 2.0) / nu)
    omega = var * (1.0 - alpha - beta)
    out = np.empty(n)
    s2 = var
    prev = 0.0
    for i in range(n):
        s2 = omega + alpha * prev * prev + beta * s2
        prev = np.sqrt(s2) * shocks[i]
        out[i] = prev
    return out


def generate_synthetic(
    n_bars: int,
    *,
    timeframe: str = "1h",
    symbols: Sequence[str] | None = None,
    n_symbols: int = 1,
    seed: int = 0,
    start: object = "2020-01-01T00:00:00Z",
    start_price: float = 100.0,
    annual_vol: float = 0.6,
    alpha: float = 0.08,
    beta: float = 0.9,
    tail_dof: float = 5.0,
) -> MarketData:
    """Seeded synthetic candles with volatility clustering.

    Args:
        n_bars: number of bars (>= 1).
        timeframe: bar interval, e.g. ``"1m"`` or ``"1h"``.
        symbols: names, each starting with ``SYNTH-``; default ``SYNTH-1 .. SYNTH-n``.
        n_symbols: how many symbols when ``symbols`` is None.
        seed: the random seed; the same arguments always give the same candles.
        start: open time of the first bar (ISO 8601 or anything `parse_time` accepts).
        start_price: first open (> 0).
        annual_vol: long-run annualised volatility of log returns (> 0).
        alpha, beta: GARCH(1, 1) weights of the last squared return and the last variance
            (``alpha, beta >= 0``, ``alpha + beta < 1``).
        tail_dof: Student-t degrees of freedom of the shocks (> 2).

    Returns:
        `MarketData` with ``synthetic=True``.

    Raises:
        ConfigError: a bad argument (the message names it and what is allowed).

    Example:
        >>> md = generate_synthetic(100, timeframe="1h", seed=7)
        >>> md.symbols, md.synthetic
        (('SYNTH-1',), True)
    """
    if isinstance(n_bars, bool) or not isinstance(n_bars, (int, np.integer)) or n_bars < 1:
        raise ConfigError(f"n_bars={n_bars!r} is not allowed; allowed: an integer >= 1")
    iv = timeframe_ns(timeframe)
    if symbols is None:
        if isinstance(n_symbols, bool) or not isinstance(n_symbols, (int, np.integer)) or n_symbols < 1:
            raise ConfigError(f"n_symbols={n_symbols!r} is not allowed; allowed: an integer >= 1")
        symbols = [f"{SYNTHETIC_PREFIX}{i + 1}" for i in range(n_symbols)]
    names = [str(s) for s in symbols]
    for s in names:
        if not is_synthetic_symbol(s) or len(s) <= len(SYNTHETIC_PREFIX):
            raise ConfigError(
                f"symbols contains {s!r}; synthetic symbols must start with {SYNTHETIC_PREFIX!r} "
                "(e.g. 'SYNTH-1') so they can never be mistaken for a real market"
            )
    if not start_price > 0 or not np.isfinite(start_price):
        raise ConfigError(f"start_price={start_price!r} is not allowed; allowed: a finite number > 0")
    if not annual_vol > 0 or not np.isfinite(annual_vol):
        raise ConfigError(f"annual_vol={annual_vol!r} is not allowed; allowed: a finite number > 0")
    if not (alpha >= 0 and beta >= 0 and alpha + beta < 1):
        raise ConfigError(
            f"alpha={alpha!r}, beta={beta!r} are not allowed; allowed: alpha, beta >= 0, alpha + beta < 1"
        )
    if not tail_dof > 2:
        raise ConfigError(f"tail_dof={tail_dof!r} is not allowed; allowed: a number > 2")
    t0 = parse_time(start, param="start")
    t0 -= t0 % iv
    var = annual_vol**2 / periods_per_year(iv)
    rng = np.random.default_rng(seed)
    n = int(n_bars)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("open", "high", "low", "close", "volume")}
    for _ in names:
        r = _garch_path(rng, n, var, alpha, beta, tail_dof)
        close = start_price * np.exp(np.cumsum(r))
        open_ = np.concatenate([[start_price], close[:-1]])
        sigma = np.sqrt(var)
        wick_up = np.abs(rng.normal(0.0, 0.5 * sigma, n)) + np.abs(r) * 0.25
        wick_dn = np.abs(rng.normal(0.0, 0.5 * sigma, n)) + np.abs(r) * 0.25
        high = np.maximum(open_, close) * np.exp(wick_up)
        low = np.minimum(open_, close) * np.exp(-wick_dn)
        volume = 1000.0 * rng.lognormal(0.0, 0.5, n) * (1.0 + np.abs(r) / sigma)
        for k, v in zip(
            ("open", "high", "low", "close", "volume"), (open_, high, low, close, volume), strict=True
        ):
            cols[k].append(v)
    ot = t0 + np.arange(n, dtype=np.int64) * iv
    stack = {k: np.column_stack(v) for k, v in cols.items()}
    return MarketData(
        tuple(names),
        timeframe,
        ot,
        stack["open"],
        stack["high"],
        stack["low"],
        stack["close"],
        stack["volume"],
        synthetic=True,
    )

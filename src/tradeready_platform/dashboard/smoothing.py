"""Curve smoothing shared by the dashboard's server and its pages.

There is one definition of each smoother. This module is the Python one; ``static/smoothing.js`` is a
line-by-line port used by the pages, and both are checked against the same hand-computed golden numbers
(``tests/dashboard/test_smoothing.py`` and the browser test).

* :func:`ema_debiased` is TensorBoard's scalar smoothing: an exponential moving average started at zero
  and divided by ``1 - weight**n`` (``n`` = number of finite points seen so far), so the first point is
  not pulled towards zero. Non-finite values pass through unchanged and do not advance the average. A
  series whose values are all equal is returned unchanged (TensorBoard does the same, to avoid rounding
  noise on flat lines).
* :func:`rolling_mean` is the trailing mean of the last ``window`` finite values (fewer at the start).

Example:
    >>> ema_debiased([1.0, 2.0], weight=0.5)
    [1.0, 1.6666666666666667]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from tradeready_gym.errors import ConfigError

__all__ = ["DEFAULT_EMA_WEIGHT", "ema_debiased", "rolling_mean", "smooth"]

DEFAULT_EMA_WEIGHT = 0.6
"""TensorBoard's default smoothing weight."""


def _check_weight(weight: float) -> float:
    w = float(weight)
    if not (0.0 <= w < 1.0) or math.isnan(w):
        raise ConfigError(f"smoothing weight={weight!r} is invalid: allowed is 0 <= weight < 1")
    return w


def ema_debiased(values: Sequence[float | None], weight: float = DEFAULT_EMA_WEIGHT) -> list[float | None]:
    """TensorBoard's debiased exponential moving average.

    Args:
        values: The raw series; ``None``/NaN/inf entries are kept as they are.
        weight: Smoothing weight in ``[0, 1)``; 0 returns the raw series.

    Returns:
        A list of the same length.

    Raises:
        ConfigError: If ``weight`` is outside ``[0, 1)``.
    """
    w = _check_weight(weight)
    vals = list(values)
    finite = [v for v in vals if v is not None and math.isfinite(v)]
    if finite and all(v == finite[0] for v in finite):
        return vals
    last = 0.0
    power = 1.0  # weight ** (number of finite points so far), as a running product (same in JS)
    out: list[float | None] = []
    for v in vals:
        if v is None or not math.isfinite(v):
            out.append(v)
            continue
        last = last * w + (1.0 - w) * v
        power *= w
        debias = 1.0 - power
        out.append(last / debias if debias > 0 else v)
    return out


def rolling_mean(values: Sequence[float | None], window: int) -> list[float | None]:
    """Trailing mean of the last ``window`` finite values (fewer at the start).

    Non-finite entries are returned unchanged and are not part of any window.

    Args:
        values: The raw series.
        window: Number of points averaged, at least 1.

    Returns:
        A list of the same length.

    Raises:
        ConfigError: If ``window`` is not a positive integer.
    """
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ConfigError(f"rolling window={window!r} is invalid: allowed is an integer >= 1")
    out: list[float | None] = []
    buf: list[float] = []
    for v in values:
        if v is None or not math.isfinite(v):
            out.append(v)
            continue
        buf.append(v)
        if len(buf) > window:
            buf.pop(0)
        total = 0.0
        for b in buf:  # summed left to right every time: no drift, and bit-identical to the JS port
            total += b
        out.append(total / len(buf))
    return out


def smooth(values: Sequence[float | None], method: str = "ema", param: float = DEFAULT_EMA_WEIGHT) -> list[float | None]:
    """Apply one smoother by name: ``"ema"`` (param = weight), ``"rolling"`` (param = window) or ``"none"``.

    Raises:
        ConfigError: For an unknown method or a bad parameter.
    """
    if method == "ema":
        return ema_debiased(values, param)
    if method == "rolling":
        if float(param) != int(param):
            raise ConfigError(f"rolling window={param!r} is invalid: allowed is an integer >= 1")
        return rolling_mean(values, int(param))
    if method == "none":
        return list(values)
    raise ConfigError(f"smoothing method={method!r} is unknown: allowed are 'ema', 'rolling', 'none'")

"""The one set of checks for public parameters: types, ranges, symbols and time ranges.

Every check raises `tradeready_gym.errors.ConfigError` with one message shape,
``<param>=<the value given> is not allowed; allowed: <what is allowed>``, so a user sees the
parameter, the value exactly as passed (not a converted or internal value) and the fix. The
library's layers (data, engine, environments, CLI) import these functions instead of writing their
own checks.

Symbols follow one rule (`check_symbol`): a Binance spot pair in any case, optionally written
with one separator (``"BTCUSDT"``, ``"btcusdt"``, ``"BTC/USDT"``, ``"BTC_USDT"``, ``"BTC-USDT"``
all mean ``"BTCUSDT"``), 2 to 20 letters and digits, or a synthetic name ``"SYNTH-<letters or
digits>"`` (synthetic candles only; a dash is otherwise never part of a symbol).

Points in time (`check_time`): ISO 8601 strings (no offset = UTC), ``datetime`` (naive = UTC),
``date``, ``numpy.datetime64`` and pandas ``Timestamp``. A bare integer is ambiguous (seconds,
milliseconds or nanoseconds?): the environment presets refuse it, while the data layer keeps
reading it as nanoseconds since the Unix epoch, UTC, as documented there.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Sequence
from typing import NoReturn, TypeVar

import numpy as np

from tradeready_gym.errors import ConfigError
from tradeready_gym.timeframes import parse_time

__all__ = [
    "SYNTHETIC_PREFIX",
    "check_bool",
    "check_choice",
    "check_int",
    "check_number",
    "check_optional_path",
    "check_optional_str",
    "check_symbol",
    "check_symbols",
    "check_time",
    "check_time_range",
    "fail",
    "show",
]

T = TypeVar("T")

#: Every synthetic symbol starts with this prefix (see `tradeready_gym.data.synthetic`).
SYNTHETIC_PREFIX = "SYNTH-"

_PAIR = re.compile(r"[A-Z0-9]{2,20}")
_SPLIT = re.compile(r"^([A-Z0-9]+)[/_\-]([A-Z0-9]+)$")
_SYNTH = re.compile(r"SYNTH-[A-Z0-9]{1,20}")
SYMBOL_RULE = (
    "a Binance spot pair such as 'BTCUSDT' (any case; 'BTC/USDT', 'BTC_USDT' and 'BTC-USDT' are read as "
    "'BTCUSDT') or a synthetic name such as 'SYNTH-1'"
)


def show(value: object, limit: int = 80) -> str:
    """``repr(value)``, shortened to ``limit`` characters (a class shows as ``<class 'Name'>``)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fail(param: str, value: object, allowed: str) -> NoReturn:
    """Raise the library's `ConfigError` for ``param=value``."""
    raise ConfigError(f"{param}={show(value)} is not allowed; allowed: {allowed}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_)


def check_number(
    param: str,
    value: object,
    lo: float = -math.inf,
    hi: float = math.inf,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    """A finite real number (not a bool, not a string) in the given interval; returned as float.

    Example:
        >>> check_number("equity_floor", 0.1, 0.0, 1.0, hi_open=True)
        0.1
    """
    lb, rb = ("(" if lo_open else "["), (")" if hi_open else "]")
    if math.isinf(lo) and math.isinf(hi):
        allowed = "a finite number"
    elif math.isinf(hi):
        allowed = f"a number {'>' if lo_open else '>='} {lo:g}"
    else:
        allowed = f"a number in {lb}{lo:g}, {hi:g}{rb}"
    if not _is_number(value):
        fail(param, value, allowed + f" (got {type(value).__name__})")
    v = float(value)  # type: ignore[arg-type]
    if not math.isfinite(v) or (v <= lo if lo_open else v < lo) or (v >= hi if hi_open else v > hi):
        fail(param, value, allowed)
    return v


def check_int(param: str, value: object, lo: int, hi: int | None = None) -> int:
    """An integer (``int`` or numpy integer; not a bool or float) in ``[lo, hi]``.

    Example:
        >>> check_int("lookback_window", 30, 1, 100_000)
        30
    """
    allowed = f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]"
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        fail(param, value, allowed + f" (got {type(value).__name__})")
    v = int(value)
    if v < lo or (hi is not None and v > hi):
        fail(param, value, allowed)
    return v


def check_bool(param: str, value: object) -> bool:
    """``True`` or ``False`` (numpy bools too; not 0 / 1 or strings)."""
    if not isinstance(value, bool | np.bool_):
        fail(param, value, "True or False")
    return bool(value)


def check_optional_str(param: str, value: object, what: str = "a string") -> str | None:
    """None or a ``str``."""
    if value is not None and not isinstance(value, str):
        fail(param, value, f"None or {what}")
    return value


def check_optional_path(param: str, value: object) -> str | os.PathLike[str] | None:
    """None, a ``str`` or an ``os.PathLike`` (a folder or file name)."""
    if value is not None and not isinstance(value, str | os.PathLike):
        fail(param, value, "None or a path (str or pathlib.Path)")
    return value  # type: ignore[return-value]


def check_choice(param: str, value: object, choices: Sequence[T]) -> T:
    """One of ``choices`` (compared with ``==``; types must match)."""
    for c in choices:
        if type(value) is type(c) and value == c:
            return c
    fail(param, value, ", ".join(show(c) for c in choices))


def check_symbol(value: object, param: str = "symbol") -> str:
    """The one symbol rule of the library; returns the canonical spelling.

    Example:
        >>> check_symbol("btc/usdt"), check_symbol("SYNTH-1"), check_symbol("ETH-USDT")
        ('BTCUSDT', 'SYNTH-1', 'ETHUSDT')
    """
    if not isinstance(value, str):
        fail(param, value, SYMBOL_RULE)
    text = value.strip().upper()
    if text.startswith(SYNTHETIC_PREFIX):
        if _SYNTH.fullmatch(text):
            return text
        fail(param, value, SYMBOL_RULE)
    m = _SPLIT.match(text)
    if m:
        text = m[1] + m[2]
    if not _PAIR.fullmatch(text):
        fail(param, value, SYMBOL_RULE)
    return text


def check_symbols(values: object, param: str = "symbols") -> tuple[str, ...]:
    """One symbol or a non-empty sequence of distinct symbols, each by `check_symbol`.

    Example:
        >>> check_symbols(["btc/usdt", "ETHUSDT"])
        ('BTCUSDT', 'ETHUSDT')
    """
    items: list[object]
    if isinstance(values, str):
        items = [values]
    elif isinstance(values, Iterable) and not isinstance(values, bytes | bytearray | dict):
        items = list(values)
    else:
        fail(param, values, "a symbol such as 'BTCUSDT' or a list of symbols")
    if not items:
        fail(param, values, "at least one symbol such as 'BTCUSDT'")
    out = tuple(check_symbol(s, f"{param}[{k}]" if len(items) > 1 else param) for k, s in enumerate(items))
    dup = sorted({s for s in out if out.count(s) > 1})
    if dup:
        fail(param, values, f"each symbol once ({', '.join(dup)} listed more than once)")
    return out


_TIME_FORMS = "an ISO 8601 string such as '2025-01-01T00:00:00Z', a datetime, a pandas Timestamp or numpy.datetime64"


def check_time(value: object, param: str, *, allow_int: bool = True) -> int:
    """A point in time as int64 ns UTC (see the module docstring for the accepted forms).

    With ``allow_int=False`` a bare integer is refused: it could be seconds, milliseconds or
    nanoseconds.
    """
    if not allow_int and isinstance(value, int | np.integer) and not isinstance(value, bool):
        fail(
            param,
            value,
            f"{_TIME_FORMS} (a bare integer is ambiguous: for epoch seconds pass "
            f"pandas.Timestamp({int(value)}, unit='s'))",
        )
    return parse_time(value, param=param)


def check_time_range(
    start: object | None,
    end: object | None,
    *,
    start_param: str = "start",
    end_param: str = "end",
    allow_int: bool = True,
) -> tuple[int | None, int | None]:
    """``(start_ns, end_ns)`` of an optional half-open range ``[start, end)``; ``start < end``.

    Example:
        >>> check_time_range("2024-01-01", None)
        (1704067200000000000, None)
    """
    s = None if start is None else check_time(start, start_param, allow_int=allow_int)
    e = None if end is None else check_time(end, end_param, allow_int=allow_int)
    if s is not None and e is not None and s >= e:
        raise ConfigError(
            f"{start_param}={show(start)} must be before {end_param}={show(end)}; "
            f"allowed: {start_param} < {end_param}"
        )
    return s, e

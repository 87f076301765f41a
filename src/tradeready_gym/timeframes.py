"""Timeframes (bar intervals) and UTC time handling shared by every layer.

Times inside the library are ``int64`` nanoseconds since the Unix epoch, UTC.
"""

from __future__ import annotations

import datetime as _dt
from typing import Final

import numpy as np

from tradeready_gym.errors import ConfigError

__all__ = [
    "NS_PER_MS",
    "NS_PER_SECOND",
    "NS_PER_US",
    "TIMEFRAMES",
    "format_iso",
    "parse_time",
    "periods_per_year",
    "timeframe_ns",
]

NS_PER_US: Final = 1_000
NS_PER_MS: Final = 1_000_000
NS_PER_SECOND: Final = 1_000_000_000
_MINUTE: Final = 60 * NS_PER_SECOND

#: Supported bar intervals, Binance spelling -> length in nanoseconds.
TIMEFRAMES: Final[dict[str, int]] = {
    "1m": _MINUTE,
    "3m": 3 * _MINUTE,
    "5m": 5 * _MINUTE,
    "15m": 15 * _MINUTE,
    "30m": 30 * _MINUTE,
    "1h": 60 * _MINUTE,
    "2h": 120 * _MINUTE,
    "4h": 240 * _MINUTE,
    "6h": 360 * _MINUTE,
    "8h": 480 * _MINUTE,
    "12h": 720 * _MINUTE,
    "1d": 1440 * _MINUTE,
}

_YEAR_NS: Final = 365 * 24 * 60 * _MINUTE


def timeframe_ns(timeframe: str, *, param: str = "timeframe") -> int:
    """Length of one bar of ``timeframe`` in nanoseconds.

    >>> timeframe_ns("1h")
    3600000000000
    """
    try:
        return TIMEFRAMES[timeframe]
    except (KeyError, TypeError):
        allowed = ", ".join(TIMEFRAMES)
        raise ConfigError(f"{param}={timeframe!r} is not supported; allowed: {allowed}") from None


def periods_per_year(interval_ns: int) -> float:
    """Number of bars in a 365-day year (crypto trades around the clock), e.g. 8760 for 1h.

    The one definition used by the metrics, the borrow cost and the synthetic generator.

    >>> periods_per_year(timeframe_ns("1h"))
    8760.0
    """
    return _YEAR_NS / float(interval_ns)


def parse_time(value: object, *, param: str = "time") -> int:
    """Parse a point in time into int64 nanoseconds UTC.

    Accepts ISO 8601 strings (``"2025-01-01T00:00:00Z"``, ``"2025-01-01"``; a string without an
    offset is taken as UTC), ``datetime`` (naive = UTC), ``numpy.datetime64``, pandas ``Timestamp``
    and integers (nanoseconds).
    """
    if isinstance(value, bool):
        raise ConfigError(f"{param}={value!r} is not a point in time; allowed: ISO 8601 string, datetime, int ns")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[ns]").astype(np.int64))
    if isinstance(value, _dt.datetime):
        dt = value if value.tzinfo is not None else value.replace(tzinfo=_dt.UTC)
        delta = dt - _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
        return (delta.days * 86_400 + delta.seconds) * NS_PER_SECOND + delta.microseconds * NS_PER_US
    if isinstance(value, _dt.date):
        return parse_time(_dt.datetime(value.year, value.month, value.day, tzinfo=_dt.UTC), param=param)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = _dt.datetime.fromisoformat(text)
        except ValueError:
            raise ConfigError(
                f"{param}={value!r} is not a valid time; allowed: ISO 8601 such as '2025-01-01T00:00:00Z'"
            ) from None
        return parse_time(dt, param=param)
    value_attr = getattr(value, "value", None)  # pandas.Timestamp
    if isinstance(value_attr, (int, np.integer)) and hasattr(value, "tzinfo"):
        tz = value.tzinfo  # type: ignore[attr-defined]
        if tz is None:
            return int(value_attr)
        return int(value_attr)
    raise ConfigError(
        f"{param}={value!r} (type {type(value).__name__}) is not a point in time; "
        "allowed: ISO 8601 string, datetime, numpy.datetime64, pandas.Timestamp, int ns"
    )


def format_iso(ns: int) -> str:
    """Format int64 ns UTC as ISO 8601 with a trailing ``Z`` (second resolution).

    >>> format_iso(1735689600000000000)
    '2025-01-01T00:00:00Z'
    """
    seconds, _ = divmod(int(ns), NS_PER_SECOND)
    return _dt.datetime.fromtimestamp(seconds, tz=_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

"""The one error hierarchy of tradeready-gym.

Every error names the parameter, the bad value and what is allowed, e.g.::

    ConfigError("timeframe='7m' is not supported; allowed: 1m, 5m, 15m, 30m, 1h, 4h, 1d")
"""

from __future__ import annotations

__all__ = [
    "ChecksumError",
    "ConfigError",
    "DataError",
    "DataNotFoundError",
    "DownloadError",
    "InvalidActionError",
    "InvalidOrderError",
    "TradeReadyError",
    "UnknownArgumentError",
]


class TradeReadyError(Exception):
    """Base class of every error raised by tradeready-gym."""


class ConfigError(TradeReadyError, ValueError):
    """A configuration value (argument, keyword, environment variable) is not allowed."""


class UnknownArgumentError(ConfigError, TypeError):
    """A keyword argument the function does not take.

    Also a ``TypeError``, as Python raises for an unexpected keyword, so tools that probe optional
    keywords (TorchRL passes ``frameskip=`` and drops it on ``TypeError``) work unchanged.
    """


class DataError(TradeReadyError, ValueError):
    """Market data is malformed: unsorted, duplicated, NaN, non-positive, inconsistent OHLC, bad file."""


class DataNotFoundError(DataError, LookupError):
    """The requested symbol / timeframe / range is not available (the message says how to fetch it)."""


class DownloadError(TradeReadyError, OSError):
    """A download failed after its retries (server down, HTTP error, unknown symbol)."""


class ChecksumError(DownloadError):
    """A downloaded file does not match its published checksum; nothing was written."""


class InvalidOrderError(TradeReadyError, ValueError):
    """An order is not valid: NaN or negative quantity, unknown symbol, non-positive price."""


class InvalidActionError(TradeReadyError, ValueError):
    """An action given to an environment is outside its action space or NaN."""

"""tradeready_platform: the FastAPI server behind ``tradeready serve``.

It speaks the original platform's ``/api/v1/...`` surface (see ``docs/platform.md``): accounts and API
keys, REST backtests run by the library's own `tradeready_gym.engine.Engine`, training runs on the
tracking tables, and market data from the local candle cache.

Importing this package is cheap; FastAPI and SQLAlchemy load when `create_app` is called.

Example:
    >>> from tradeready_platform import Settings, create_app   # doctest: +SKIP
    >>> app = create_app(Settings(database_url="sqlite:///platform.sqlite"))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

__all__ = ["Settings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "Settings":
        from tradeready_platform.settings import Settings

        return Settings
    if name == "create_app":
        from tradeready_platform.main import create_app

        return create_app
    raise AttributeError(f"module 'tradeready_platform' has no attribute {name!r}")

"""`Settings`: the one configuration object of the platform server (environment variables ``TRADEREADY_*``)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_RATE_LIMITS", "Settings", "default_home"]

#: The original's rate-limit tiers: the first matching path prefix wins; requests per window.
DEFAULT_RATE_LIMITS: dict[str, int] = {
    "/api/v1/trade/": 100,
    "/api/v1/backtest/": 6000,
    "/api/v1/market/": 1200,
    "/api/v1/training/": 3000,
    # the training dashboard's JSON (not in the original): its own budget, so open dashboard tabs (a run
    # page polls ~3 requests per 5 s, ~36 a minute) neither eat the general tier nor get starved by it
    "/api/v1/dashboard/": 1200,
    "/api/v1/": 600,
}


def default_home() -> Path:
    """``TRADEREADY_HOME`` or the user data dir of ``tradeready``."""
    env = os.environ.get("TRADEREADY_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("tradeready"))


class Settings(BaseSettings):
    """Server settings; each field can be set by the environment variable ``TRADEREADY_<FIELD>``.

    Attributes:
        home: data folder (``TRADEREADY_HOME``); the default SQLite file lives here.
        database_url: SQLAlchemy URL (``TRADEREADY_DATABASE_URL``); default
            ``sqlite:///<home>/platform.sqlite``. PostgreSQL: ``postgresql+psycopg://user:pw@host/db``.
        data_dir: candle cache for backtests and market data (default: the library's cache,
            ``TRADEREADY_DATA_DIR``).
        host, port: where ``tradeready serve`` listens (default 127.0.0.1:8000).
        rate_limits: requests per ``rate_window_s`` per API key, by path prefix (first match wins).
        rate_window_s: fixed window length in seconds (60, as the original).
        register_limit: registrations per client IP and window.
        max_sessions_per_key: running or created backtest sessions an API key may hold; creating one
            more cancels that key's least recently used session.
        session_idle_s: a session untouched for this long is cancelled (checked on each create).
        max_batch_steps: upper bound of ``steps`` in one batch-step call.
        max_candles: upper bound of ``limit`` on candle routes (1000, as the original).
    """

    model_config = SettingsConfigDict(env_prefix="TRADEREADY_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    database_url: str = ""
    data_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    rate_limits: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    rate_window_s: int = 60
    register_limit: int = 3
    max_sessions_per_key: int = 20
    session_idle_s: float = 3600.0
    max_batch_steps: int = 1_000_000
    max_candles: int = 1000

    @field_validator("rate_limits")
    @classmethod
    def _check_limits(cls, v: dict[str, int]) -> dict[str, int]:
        for prefix, n in v.items():
            if not prefix.startswith("/") or int(n) < 1:
                raise ValueError(f"rate_limits[{prefix!r}]={n!r}; allowed: a path prefix -> an integer >= 1")
        return v

    @property
    def resolved_database_url(self) -> str:
        """`database_url`, or the default SQLite file under `home`."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(Path(self.home) / 'platform.sqlite').as_posix()}"

"""Shared fixtures. Real candles come from ``../shared/data`` (or ``TRADEREADY_SHARED_DATA``).

If the data folder is missing, the session fails: tests on real data must never be skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    env = os.environ.get("TRADEREADY_SHARED_DATA")
    path = Path(env) if env else _REPO.parent / "shared" / "data"
    return path.resolve()


def pytest_sessionstart(session: pytest.Session) -> None:
    path = shared_data_dir()
    if not (path / "raw").is_dir() or not (path / "binance-vision").is_dir():
        raise pytest.UsageError(
            f"real market data not found at {path}; set TRADEREADY_SHARED_DATA to the shared data folder "
            "(it must hold raw/ and binance-vision/)"
        )


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of the shared real-candle folder (raw/, binance-vision/)."""
    return shared_data_dir()

"""Fixtures of the engine tests: real Binance candles from the shared data folder."""

from __future__ import annotations

import pytest

from conftest import rest_market
from tradeready_gym.data.market import MarketData


@pytest.fixture(scope="session")
def market3() -> MarketData:
    """BTCUSDT, ETHUSDT, SOLUSDT 1h, 2024-01-01 .. 2024-03-01 (1,440 real bars)."""
    return rest_market(["BTCUSDT", "ETHUSDT", "SOLUSDT"], "1h", "2024-01-01", "2024-03-01")


@pytest.fixture(scope="session")
def sol_1h() -> MarketData:
    """SOLUSDT 1h, 2024-01-01 .. 2024-01-10 (holds the 18% wick of 2024-01-03 12:00)."""
    return rest_market("SOLUSDT", "1h", "2024-01-01", "2024-01-10")


@pytest.fixture(scope="session")
def btc_1h_short() -> MarketData:
    """BTCUSDT 1h, 2024-01-01 .. 2024-02-01."""
    return rest_market("BTCUSDT", "1h", "2024-01-01", "2024-02-01")

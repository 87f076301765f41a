"""Fixtures of the environment tests: real BTC/ETH/SOL 1h candles from the shared folder."""

from __future__ import annotations

import pytest

from conftest import rest_market

SYMBOL_OF = {"BTC": "BTCUSDT", "ETH": "ETHUSDT", "SOL": "SOLUSDT"}


@pytest.fixture(scope="session")
def market3():
    """BTCUSDT, ETHUSDT, SOLUSDT 1h, 2024-01-01 .. 2024-03-01 (real candles, aligned)."""
    return rest_market(["BTCUSDT", "ETHUSDT", "SOLUSDT"], "1h", "2024-01-01", "2024-03-01")


@pytest.fixture(scope="session")
def btc(market3):
    """BTCUSDT 1h, 2024-01-01 .. 2024-03-01."""
    return market3.select(["BTCUSDT"])


def data_for(env_id: str, market3):
    """The candles an env id trades, taken from ``market3``."""
    sym = SYMBOL_OF.get(env_id.split("-")[1])
    return market3.select([sym]) if sym else market3

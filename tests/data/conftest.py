"""Fixtures of the data tests: real local HTTP servers for the Binance dumps and the REST API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .servers import KlinesServer, serve_directory


@pytest.fixture
def vision_server(shared_data: Path) -> Iterator[tuple[str, list[str]]]:
    """(base URL, requested paths) of a static server over ``shared/data/binance-vision``."""
    with serve_directory(shared_data / "binance-vision") as served:
        yield served


@pytest.fixture
def klines_server(shared_data: Path) -> Iterator[KlinesServer]:
    """A local ``/api/v3/klines`` server answering from the shared REST files."""
    with KlinesServer(shared_data) as server:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    """Waits requested by the downloader's retry policy (recorded, not slept)."""
    return []

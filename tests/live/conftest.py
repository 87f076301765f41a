"""Helpers for the live tests: real 15m candles replayed fast by a real local `ReplayServer`.

At ``SPEED`` = 1800 one 15-minute candle lasts half a wall second, so a test covers hours of
market time in a few seconds. Every wait in these tests is bounded.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest

from conftest import rest_market
from tradeready_gym.live.feed import Bar, FeedConfig, LiveFeed
from tradeready_gym.live.replay import ReplayFaults, ReplayServer

SPEED = 1800.0
TIMEFRAME = "15m"
IV_MS = 15 * 60 * 1000


def feed_config(server: ReplayServer, **over: Any) -> FeedConfig:
    """Deadlines scaled for `SPEED` (market seconds; 1 wall ms = 1.8 market s)."""
    cfg: dict[str, Any] = {
        "ws_url": server.ws_url,
        "rest_url": server.rest_url,
        "speed": server.clock.speed,
        "final_grace_s": 90.0,  # 50 ms wall
        "liveness_s": 540.0,  # 0.3 s wall; updates come every 300 market s
        "stale_after_s": 720.0,  # 0.4 s wall
        "reconnect_min_s": 0.02,
        "reconnect_max_s": 0.2,
        "clock_sync_s": 3600.0,
        "rest_timeout_s": 5.0,
    }
    cfg.update(over)
    return FeedConfig(**cfg)


@pytest.fixture(scope="session")
def market15():
    """BTCUSDT + ETHUSDT 15m, 2025-01-01 .. 2025-01-08 (real candles)."""
    return rest_market(["BTCUSDT", "ETHUSDT"], TIMEFRAME, "2025-01-01", "2025-01-08")


@pytest.fixture(scope="session")
def btc15(market15):
    return market15.select(["BTCUSDT"])


def bar_index(market, open_ms: int) -> int:
    return int((open_ms * 1_000_000 - int(market.open_time[0])) // market.interval_ns)


def run_feed(
    market,
    *,
    start_index: int = 200,
    n_bars: int = 8,
    faults: ReplayFaults | None = None,
    history: int = 3,
    timeout: float = 8.0,
    server_kw: dict[str, Any] | None = None,
    **cfg_over: Any,
) -> tuple[list[Bar], dict[str, Any], ReplayServer]:
    """Replay ``market`` from ``start_index`` with ``faults``; the feed delivers ``n_bars`` live bars."""
    server = ReplayServer(market, start_index=start_index, speed=SPEED, faults=faults, **(server_kw or {}))
    with server:
        cfg = feed_config(server, **cfg_over)
        with LiveFeed(market.symbols, market.timeframe, cfg, clock=server.clock.now_ms) as feed:
            feed.backfill(history)
            nxt = feed.next_open_ms()
            bars = []
            deadline = time.perf_counter() + timeout * n_bars
            for _ in range(n_bars):
                bar = feed.wait_bar(nxt, timeout=max(0.1, deadline - time.perf_counter()))
                bars.append(bar)
                nxt += IV_MS
            status = feed.status()
    return bars, status, server


def assert_exact(market, bars: list[Bar]) -> None:
    """Bars are contiguous, each once, and hold exactly the final candles of ``market``."""
    opens = [b.open_ms for b in bars]
    assert all(b - a == IV_MS for a, b in itertools.pairwise(opens)), opens
    for b in bars:
        k = bar_index(market, b.open_ms)
        for j, kl in enumerate(b.klines):
            got = (kl.open, kl.high, kl.low, kl.close, kl.volume)
            want = tuple(float(getattr(market, f)[k, j]) for f in ("open", "high", "low", "close", "volume"))
            assert got == want, (k, market.symbols[j], kl.source, got, want)

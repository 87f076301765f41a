"""The live feed, fault by fault, against the replay server: every bar exactly once, in order, final.

Each test replays hours of real 15m candles in a few seconds (`SPEED`). "Exactly" means the
delivered candles equal the cached final candles bit for bit: a partial (``x=false``) candle or an
unfinished REST row would fail the comparison.
"""

from __future__ import annotations

import time

import pytest

from tradeready_gym.errors import ConfigError
from tradeready_gym.live.feed import FeedConfig, FeedState, FeedTimeout, LiveFeed
from tradeready_gym.live.replay import ReplayFaults, ReplayServer

from .conftest import IV_MS, SPEED, assert_exact, bar_index, feed_config, run_feed

S = 200  # first live bar of every test


def test_no_faults_all_finals_from_the_stream(market15):
    bars, st, _ = run_feed(market15, start_index=S, n_bars=6)
    assert_exact(market15, bars)
    assert st["finals_ws"] >= 2  # (a loaded machine may let a few finals fall back to REST)
    assert st["state"] in (FeedState.LIVE.value, FeedState.BACKFILLING.value) and not st["stale"]


def test_dropped_socket_backfills_the_lost_final(market15):
    faults = ReplayFaults(drop_before_final={S + 2, S + 4})
    bars, st, server = run_feed(market15, n_bars=7, faults=faults)
    assert_exact(market15, bars)
    assert st["reconnects"] >= 2
    assert server.connections_accepted >= 3
    lost = [b for b in bars if bar_index(market15, b.open_ms) in (S + 2, S + 4)]
    assert lost and all(k.source == "rest" for b in lost for k in b.klines)


def test_silent_stall_detected_by_liveness(market15):
    # 1,000 market seconds without any message (> liveness 540 s): the socket looks alive but is silent
    faults = ReplayFaults(stall={S + 2: 1000.0})
    bars, st, _ = run_feed(market15, n_bars=7, faults=faults)
    assert_exact(market15, bars)
    assert st["liveness_timeouts"] >= 1
    assert st["reconnects"] >= 1


def test_missing_final_confirmed_by_rest_after_the_deadline(market15):
    faults = ReplayFaults(skip_final={S + 1, S + 3})
    bars, st, _ = run_feed(market15, n_bars=6, faults=faults)
    assert_exact(market15, bars)
    skipped = [b for b in bars if bar_index(market15, b.open_ms) in (S + 1, S + 3)]
    assert len(skipped) == 2 and all(k.source == "rest" for b in skipped for k in b.klines)
    assert st["finals_rest"] >= 4


def test_duplicate_final_delivered_once(market15):
    faults = ReplayFaults(duplicate_final={S + 1, S + 2, S + 3})
    bars, st, server = run_feed(market15, n_bars=6, faults=faults)
    assert_exact(market15, bars)
    sent = [k for k, _ in server.finals_sent]
    assert sent.count(S + 2) == 4  # two symbols, twice each
    assert st["duplicates"] >= 6


def test_late_final_after_rest_confirmation_is_ignored(market15):
    # x=true comes 400 market s late: the REST confirmation (grace 90 s) has delivered the bar already
    faults = ReplayFaults(late_final={S + 1: 400.0, S + 2: 400.0})
    bars, st, _ = run_feed(market15, n_bars=6, faults=faults)
    assert_exact(market15, bars)
    late = [b for b in bars if bar_index(market15, b.open_ms) in (S + 1, S + 2)]
    assert all(k.source == "rest" for b in late for k in b.klines)
    assert st["duplicates"] >= 2  # the late messages were seen and dropped
    assert st["mismatches"] == 0


def test_gap_after_reconnect_is_backfilled(market15):
    # sockets cut and new connections refused for 3 bars: the reconnect finds 3 missed finals
    faults = ReplayFaults(outage={S + 2: 3})
    bars, st, _ = run_feed(market15, n_bars=8, faults=faults)
    assert_exact(market15, bars)
    assert st["reconnects"] >= 1
    gap = [b for b in bars if S + 2 <= bar_index(market15, b.open_ms) <= S + 4]
    assert len(gap) == 3 and all(k.source == "rest" for b in gap for k in b.klines)


@pytest.mark.parametrize("skew_ms", [5000, -5000])
def test_server_clock_skew(market15, skew_ms):
    # the server clock is 5 s ahead / behind the local one, and no x=true ever comes: the REST
    # confirmation must wait for the close in server time (a local-clock deadline would take the
    # unfinished REST row when the server is behind, and the comparison would fail)
    skip = set(range(S, S + 12))
    faults = ReplayFaults(skip_final=skip, clock_skew_ms=skew_ms)
    bars, st, _ = run_feed(market15, n_bars=6, faults=faults, final_grace_s=1.0)
    assert_exact(market15, bars)
    # the offset estimate is within its own error bound (half the round trip of the best sync sample;
    # a few wall ms are a few market seconds at this speed)
    assert abs(st["clock_offset_ms"] - skew_ms) <= st["clock_error_ms"] + 1, (st["clock_offset_ms"], st["clock_error_ms"])


@pytest.mark.parametrize("status", [500, 502, 503])
def test_rest_5xx_retried(market15, status):
    faults = ReplayFaults(skip_final={S + 1, S + 2}, rest_errors={"/api/v3/klines": [status] * 3})
    bars, st, _ = run_feed(market15, n_bars=5, faults=faults)
    assert_exact(market15, bars)
    assert st["rest_errors"] >= 3


@pytest.mark.parametrize("status", [429, 418])
def test_rest_429_418_retry_after_obeyed(market15, status):
    faults = ReplayFaults(skip_final={S + 1, S + 2}, retry_after_s=0.3)
    server = ReplayServer(market15, start_index=S, speed=SPEED, faults=faults)
    with server:
        with LiveFeed(market15.symbols, "15m", feed_config(server), clock=server.clock.now_ms) as feed:
            feed.backfill(3)
            nxt = feed.next_open_ms()
            faults.rest_errors["/api/v3/klines"] = [status]
            bars = [feed.wait_bar(nxt + i * IV_MS, timeout=8) for i in range(4)]
            st = feed.status()
    assert_exact(market15, bars)
    assert st["rate_limited"] >= 1
    log = server.requests
    limited = [t for t, _, code in log if code == status]
    assert len(limited) == 1
    after = [t for t, _, _ in log if t > limited[0]]
    assert after and min(after) - limited[0] >= 0.3 - 1e-3  # nothing before Retry-After elapsed
    assert not any(code == 418 for _, _, code in log) or status == 418  # never banned for ignoring a 429


def test_stale_reported_within_its_deadline(market15):
    # the stream goes silent and REST fails: the next bar cannot become final; the feed must say
    # stale no later than stale_after_s after that bar's close (server time), plus one watchdog tick
    faults = ReplayFaults(stall={S + 2: 10_000.0})
    server = ReplayServer(market15, start_index=S, speed=SPEED, faults=faults)
    with server:
        cfg = feed_config(server, rest_retries=1)
        with LiveFeed(market15.symbols, "15m", cfg, clock=server.clock.now_ms) as feed:
            feed.backfill(3)
            nxt = feed.next_open_ms()
            while bar_index(market15, nxt) < S + 2:
                feed.wait_bar(nxt, timeout=5)
                nxt += IV_MS
            faults.rest_errors["/api/v3/klines"] = [500] * 10_000
            close_ms = nxt + IV_MS  # the close of the bar that never becomes final
            deadline_ms = close_ms + cfg.stale_after_s * 1000.0
            seen_ms = None
            t_end = time.perf_counter() + 5
            while time.perf_counter() < t_end:
                if feed.status()["stale"]:
                    seen_ms = server.clock.now_ms()
                    break
                time.sleep(0.002)
            with pytest.raises(FeedTimeout):
                feed.wait_bar(nxt, timeout=0.05)
            st = feed.status()
    assert seen_ms is not None, "the feed never reported stale"
    # the feed reads server time as local clock + estimated offset, which is off by at most half the
    # round trip of its clock sync (`clock_error_ms`); 0.25 wall s of scheduling slack after (a shared machine)
    tick_ms = 0.25 * SPEED * 1000
    assert deadline_ms - st["clock_error_ms"] - 1 <= seen_ms <= deadline_ms + tick_ms
    assert st["stale"] and st["stale_events"] >= 1


def test_server_shutdown_reconnects(market15):
    faults = ReplayFaults(shutdown_before_final={S + 2})
    bars, st, _ = run_feed(market15, n_bars=6, faults=faults)
    assert_exact(market15, bars)
    assert st["server_shutdowns"] >= 1 and st["reconnects"] >= 1


def test_connection_age_limits(market15):
    # the server cuts connections after 2 bars (Binance: 24 h) and the client renews after 3
    faults = ReplayFaults(max_connection_s=2 * 900.0)
    bars, st, _ = run_feed(market15, n_bars=8, faults=faults, max_connection_s=3 * 900.0 - 1)
    assert_exact(market15, bars)
    assert st["reconnects"] >= 2


def test_ping_pong_keeps_the_connection(market15):
    # the server pings every 50 ms and drops a connection whose pong is 1 s late (about 60 pings);
    # liveness is off the table (a long deadline), so only a missing pong could end the connection
    bars, st, server = run_feed(market15, n_bars=6, server_kw={"ping_interval_s": 0.05, "ping_timeout_s": 1.0},
                                liveness_s=36_000.0)
    assert_exact(market15, bars)
    assert server.connections_accepted == 1 and st["reconnects"] == 0


def test_raw_streams(market15):
    bars, st, _ = run_feed(market15, n_bars=4, combined=False)
    assert_exact(market15, bars)
    assert st["finals_ws"] >= 6


def test_bad_config():
    with pytest.raises(ConfigError, match="final_grace_s"):
        FeedConfig(final_grace_s=0)
    with pytest.raises(ConfigError, match="ws_url"):
        FeedConfig(ws_url="ftp://x")
    with pytest.raises(ConfigError, match="n_bars"):
        LiveFeed(["BTCUSDT"], "1m").backfill(0)

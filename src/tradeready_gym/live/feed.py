"""`LiveFeed`: final Binance klines of several symbols, exactly once and in order, from websocket + REST.

The feed is a small state machine running on its own asyncio loop in a background thread:

``IDLE -> CONNECTING -> BACKFILLING -> LIVE -> (dropped, stalled, 24 h cut, serverShutdown) -> BACKOFF
-> CONNECTING ...`` and ``STOPPED`` after `stop`. Whether the data is *stale* is a separate flag.

Rules (every duration is in **market seconds** and is divided by ``speed`` to wait on the wall clock;
``speed`` is 1 against Binance and the replay speed against a `ReplayServer`):

* **Final candle**: a kline is final on its ``x=true`` message, or, when that message has not come
  ``final_grace_s`` after the candle's close in *server time*, when REST ``/api/v3/klines`` shows it
  closed (a later candle exists in the answer, or its close time is before the estimated server
  time). The first final version of a candle wins; later copies (duplicate or late ``x=true``) are
  dropped and counted.
* **Backfill**: after every (re)connect the missing candles between the last final candle and now
  are fetched from REST before the feed reports LIVE; a final message that skips candles triggers a
  REST backfill of the gap. A bar is delivered only when every symbol has it and all bars before it,
  so a consumer waiting for bar ``t + 1`` can never skip or repeat a bar.
* **Liveness**: no stream message for ``liveness_s`` -> the socket is dropped and reopened.
  **Staleness**: the feed is *stale* while the next expected bar is more than ``stale_after_s``
  past its close (server time) and still not final; `status` reports it.
* **Connection limits**: websockets ping/pong (the server's pings are answered; the client pings
  every ``ping_interval_s`` wall seconds); the connection is renewed after ``max_connection_s``
  (Binance cuts at 24 h); a ``serverShutdown`` event makes the feed reconnect at once.
* **Clock**: the offset to the server clock is estimated from ``/api/v3/time`` (the sample with the
  smallest round trip, mid-point rule) at start and every ``clock_sync_s``; deadlines use the
  estimated server time, never the local clock.
* **Rate limits**: ``X-MBX-USED-WEIGHT-1M`` is tracked; 429 and 418 stop every REST call for the
  ``Retry-After`` seconds (418: at least ``ban_min_s``); 5xx and transport errors are retried with
  exponential back-off.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from tradeready_gym.errors import ConfigError, DataError
from tradeready_gym.timeframes import timeframe_ns

__all__ = ["KEEP_BARS", "Bar", "FeedConfig", "FeedError", "FeedState", "FeedTimeout", "Kline", "LiveFeed"]

log = logging.getLogger(__name__)

DEFAULT_WS_URL = "wss://stream.binance.com:9443"
#: Final bars kept in memory behind the newest (older ones are dropped; `bars` cannot return them).
KEEP_BARS = 20_000
DEFAULT_REST_URL = "https://api.binance.com"


class FeedError(RuntimeError):
    """The feed cannot deliver (stopped, or REST refused the request for good)."""


class FeedTimeout(FeedError, TimeoutError):
    """A bar did not become final within the time the caller was ready to wait."""


class FeedState(enum.StrEnum):
    """States of `LiveFeed`."""

    IDLE = "idle"
    CONNECTING = "connecting"
    BACKFILLING = "backfilling"
    LIVE = "live"
    BACKOFF = "backoff"
    STOPPED = "stopped"


@dataclass(frozen=True, kw_only=True)
class FeedConfig:
    """Settings of a `LiveFeed` (frozen; durations in market seconds unless marked wall).

    Attributes:
        ws_url: websocket base (Binance: ``wss://stream.binance.com:9443``); streams are opened as
            ``<ws_url>/stream?streams=...`` (combined) or ``<ws_url>/ws/<a>/<b>`` (raw).
        rest_url: REST base (Binance: ``https://api.binance.com``).
        combined: use the combined stream endpoint (else the raw one).
        speed: market seconds per wall second (1 live; the replay speed against a replay server).
        final_grace_s: after a candle's close (server time), how long to wait for ``x=true``
            before confirming the candle by REST.
        liveness_s: no stream message for this long -> reconnect.
        stale_after_s: the next bar still not final this long after its close -> stale.
        max_connection_s: renew the connection after this long (Binance cuts at 24 h).
        clock_sync_s: re-estimate the server clock offset this often.
        reconnect_min_s, reconnect_max_s: wall seconds of the exponential reconnect back-off.
        rest_timeout_s: wall seconds per REST request.
        rest_retries: attempts per REST call on 5xx / transport errors.
        ban_min_s: wall seconds to stop REST after a 418 without ``Retry-After``.
        weight_limit: REST weight per minute (Binance: 6000); above 90% the feed waits for the minute.
        ping_interval_s, ping_timeout_s: wall seconds of the client's own pings (None: off).
    """

    ws_url: str = DEFAULT_WS_URL
    rest_url: str = DEFAULT_REST_URL
    combined: bool = True
    speed: float = 1.0
    final_grace_s: float = 5.0
    liveness_s: float = 30.0
    stale_after_s: float = 60.0
    max_connection_s: float = 23.5 * 3600
    clock_sync_s: float = 600.0
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    rest_timeout_s: float = 10.0
    rest_retries: int = 5
    ban_min_s: float = 60.0
    weight_limit: int = 6000
    ping_interval_s: float | None = 20.0
    ping_timeout_s: float | None = 60.0

    def __post_init__(self) -> None:
        for name in ("speed", "final_grace_s", "liveness_s", "stale_after_s", "max_connection_s", "clock_sync_s",
                     "reconnect_min_s", "reconnect_max_s", "rest_timeout_s", "ban_min_s"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
                raise ConfigError(f"{name}={v!r} is not allowed; allowed: a finite number > 0")
        for name in ("ws_url", "rest_url"):
            v = getattr(self, name)
            if not isinstance(v, str) or v.split("://", 1)[0] not in ("ws", "wss", "http", "https"):
                raise ConfigError(f"{name}={v!r} is not allowed; allowed: an http(s):// or ws(s):// URL")
        if not isinstance(self.rest_retries, int) or self.rest_retries < 1:
            raise ConfigError(f"rest_retries={self.rest_retries!r} is not allowed; allowed: an integer >= 1")

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly settings."""
        return asdict(self)

    @classmethod
    def for_replay(cls, speed: float, timeframe: str, **over: Any) -> FeedConfig:
        """Deadlines for a `ReplayServer` at ``speed`` (market s per wall s) streaming ``timeframe``.

        The live defaults assume Binance's pace (an update every ~2 s); a replay sends a few
        messages per candle, and a wall millisecond is ``speed / 1000`` market seconds. So the
        liveness deadline is at least 0.9 candle (a replay sends at least one message per candle)
        and every deadline is at least a few wall milliseconds:
        grace >= 50 ms, liveness >= 0.5 s, staleness >= 1 s (wall).
        """
        if not (isinstance(speed, int | float) and math.isfinite(speed) and speed > 0):
            raise ConfigError(f"speed={speed!r} is not allowed; allowed: a finite number > 0")
        iv_s = timeframe_ns(timeframe) / 1e9
        base = cls()
        kw: dict[str, Any] = {
            "speed": float(speed),
            "final_grace_s": max(base.final_grace_s, 0.05 * speed),
            "liveness_s": max(base.liveness_s, 0.9 * iv_s, 0.5 * speed),
            "stale_after_s": max(base.stale_after_s, 1.0 * speed, 0.25 * iv_s),
            "clock_sync_s": max(base.clock_sync_s, 5.0 * speed),
            "reconnect_min_s": 0.05,
            "reconnect_max_s": 2.0,
        }
        kw.update(over)
        return cls(**kw)


@dataclass(frozen=True)
class Kline:
    """One final candle of one symbol (times in ms UTC, Binance's fields)."""

    open_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    quote_volume: float
    trades: float
    taker_buy_base_volume: float
    taker_buy_quote_volume: float
    source: str  # "ws" (x=true message) or "rest"


@dataclass(frozen=True)
class Bar:
    """The final candles of every symbol for one open time, and when the feed completed it."""

    open_ms: int
    klines: tuple[Kline, ...]
    completed_at: float  # time.perf_counter() when the last symbol's final candle arrived


class _Stop(Exception):
    pass


class LiveFeed:
    """Final klines of ``symbols`` at ``timeframe`` from Binance's websocket + REST (see module doc).

    Args:
        symbols: Binance spot symbols, e.g. ``["BTCUSDT", "ETHUSDT"]``.
        timeframe: kline interval, e.g. ``"1m"``.
        config: a `FeedConfig` (URLs, deadlines).
        clock: local time in ms (market rate); default the wall clock, scaled by ``config.speed``.

    Example:
        >>> feed = LiveFeed(["BTCUSDT"], "1m", FeedConfig(ws_url=server.ws_url, rest_url=server.rest_url,
        ...                 speed=60)).start()  # doctest: +SKIP
        >>> feed.backfill(100)  # doctest: +SKIP
        >>> bar = feed.wait_bar(feed.next_open_ms(), timeout=5)  # doctest: +SKIP
    """

    def __init__(
        self,
        symbols: Sequence[str],
        timeframe: str,
        config: FeedConfig | None = None,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.symbols = tuple(symbols)
        if not self.symbols:
            raise ConfigError("symbols=[] must hold at least one symbol")
        self.timeframe = timeframe
        self.interval_ms = timeframe_ns(timeframe) // 1_000_000
        self.config = config if config is not None else FeedConfig()
        if clock is None:
            speed = self.config.speed
            w0 = time.time() * 1000.0
            p0 = time.perf_counter()
            clock = (lambda: w0 + (time.perf_counter() - p0) * 1000.0 * speed) if speed != 1.0 else (
                lambda: time.time() * 1000.0
            )
        self._clock = clock
        self.state = FeedState.IDLE
        self._cond = threading.Condition()
        self._finals: list[dict[int, Kline]] = [{} for _ in self.symbols]
        self._frontier: int | None = None  # open time of the first bar not yet final for every symbol
        self._sym_frontier: list[int | None] = [None] * len(self.symbols)
        self._bar_done: dict[int, float] = {}
        self._offset_ms = 0.0
        self._offset_known = False
        self._rtt_ms = 0.0
        self._synced_at = -math.inf
        self._last_msg = time.perf_counter()
        self._connected_at = time.perf_counter()
        self._rest_blocked_until = 0.0
        self._used_weight = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ws: Any = None
        self._reconnect_now = False
        self._stopping = False
        self._error: BaseException | None = None
        self._confirm_inflight = False
        self._backfill_lock: asyncio.Lock | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        #: Counters reported by `status`.
        self.counters = {
            "messages": 0,
            "finals_ws": 0,
            "finals_rest": 0,
            "duplicates": 0,
            "mismatches": 0,
            "reconnects": 0,
            "liveness_timeouts": 0,
            "server_shutdowns": 0,
            "connection_renewals": 0,
            "rest_requests": 0,
            "rest_errors": 0,
            "rate_limited": 0,
            "stale_events": 0,
        }
        self._stale = False
        self._catching_up = False

    # ------------------------------------------------------------------ time
    def local_ms(self) -> float:
        """The local clock (ms)."""
        return float(self._clock())

    def server_ms(self) -> float:
        """The estimated server time (ms): local clock + estimated offset."""
        return self.local_ms() + self._offset_ms

    @property
    def clock_offset_ms(self) -> float:
        """Estimated server clock minus local clock (ms)."""
        return self._offset_ms

    def _wall(self, market_s: float) -> float:
        return market_s / self.config.speed

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LiveFeed:
        """Start the background loop (idempotent); returns self. Connects and syncs the clock."""
        if self._thread is not None:
            return self
        try:
            import websockets.asyncio.client  # noqa: F401
        except ImportError:
            raise ConfigError(
                "the live feed needs the 'websockets' package; install the extra: pip install 'tradeready-gym[live]'"
            ) from None
        ready = threading.Event()

        def main() -> None:
            try:
                asyncio.run(self._main(ready))
            except BaseException as exc:  # pragma: no cover - surfaced by wait_bar/status
                self._error = exc
                log.exception("live feed stopped by an error")
            finally:
                self.state = FeedState.STOPPED
                with self._cond:
                    self._cond.notify_all()
                ready.set()

        self._thread = threading.Thread(target=main, name="tradeready-live-feed", daemon=True)
        self._thread.start()
        ready.wait(30)
        if self._error is not None:
            raise FeedError(f"the live feed could not start: {self._error}") from self._error
        return self

    def stop(self) -> None:
        """Stop the loop and close the connection (idempotent)."""
        self._stopping = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(lambda: None)
            except RuntimeError:
                pass
        if self._thread is not None:
            self._thread.join(10)
        self._thread = None
        self.state = FeedState.STOPPED

    def __enter__(self) -> LiveFeed:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, coro: Any, timeout: float | None = None) -> Any:
        loop = self._loop
        if loop is None or self._thread is None:
            coro.close()
            raise FeedError("the feed is not running; call start() first")
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    async def _main(self, ready: threading.Event) -> None:
        import httpx

        self._loop = asyncio.get_running_loop()
        self._backfill_lock = asyncio.Lock()
        self._rest_lock = asyncio.Lock()
        async with httpx.AsyncClient(base_url=self.config.rest_url, timeout=self.config.rest_timeout_s) as http:
            self._http = http
            try:
                await self._sync_clock()
            except FeedError as exc:
                log.warning("clock sync failed at start: %s", exc)
            ready.set()
            tasks = [asyncio.create_task(self._connection_loop()), asyncio.create_task(self._watchdog())]
            try:
                while not self._stopping:
                    await asyncio.sleep(0.02)
            finally:
                for t in tasks:
                    t.cancel()
                if self._ws is not None:
                    self._ws.transport.abort()
                await asyncio.gather(*tasks, return_exceptions=True)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ REST
    async def _rest_get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        cfg = self.config
        delay = 0.05
        last = "no answer"
        for attempt in range(cfg.rest_retries):
            if self._stopping:
                raise _Stop
            try:
                # one request at a time, so a 429 / 418 stops every later request (none is in flight)
                async with self._rest_lock:
                    wait = self._rest_blocked_until - time.perf_counter()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    if self._used_weight >= 0.9 * cfg.weight_limit:
                        await asyncio.sleep(1.0)
                    self.counters["rest_requests"] += 1
                    r = await self._http.get(path, params=params)
                    if r.status_code in (429, 418):
                        ra = _retry_after(r.headers.get("retry-after"))
                        if ra is None:
                            ra = cfg.ban_min_s if r.status_code == 418 else 1.0
                        self._rest_blocked_until = time.perf_counter() + ra
            except Exception as exc:  # transport error
                last = f"{type(exc).__name__}: {exc}"
                self.counters["rest_errors"] += 1
                log.warning("REST %s failed (%s); retry %d", path, exc, attempt + 1)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            used = r.headers.get("x-mbx-used-weight-1m")
            if used is not None and used.isdigit():
                self._used_weight = int(used)
            if r.status_code in (429, 418):
                last = f"HTTP {r.status_code}"
                self.counters["rate_limited"] += 1
                log.warning("REST %s answered %d; no REST calls for %.3f s", path, r.status_code,
                            self._rest_blocked_until - time.perf_counter())
                continue
            if r.status_code >= 500:
                last = f"HTTP {r.status_code}"
                self.counters["rest_errors"] += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            if r.status_code != 200:
                raise FeedError(f"REST {path} {params} answered {r.status_code}: {r.text[:200]}")
            return r.json()
        raise FeedError(
            f"REST {cfg.rest_url.rstrip('/')}{path} failed {cfg.rest_retries} times (last: {last}); check "
            "binance_rest_url / FeedConfig.rest_url and the network"
        )

    async def _sync_clock(self) -> None:
        best: tuple[float, float] | None = None
        for _ in range(3):
            t0 = self.local_ms()
            data = await self._rest_get("/api/v3/time")
            t1 = self.local_ms()
            offset = float(data["serverTime"]) - (t0 + t1) / 2.0
            if best is None or t1 - t0 < best[0]:
                best = (t1 - t0, offset)
        assert best is not None
        # the server stamped its time between t0 and t1: the estimate is off by at most half the round trip
        self._rtt_ms = best[0]
        self._offset_ms = best[1]
        self._offset_known = True
        self._synced_at = time.perf_counter()

    async def _fetch_klines(self, j: int, start_ms: int, end_ms: int | None = None) -> list[Kline]:
        """Final klines of symbol ``j`` from ``start_ms`` (REST, paged, ascending)."""
        out: list[Kline] = []
        cursor = start_ms
        while True:
            params: dict[str, Any] = {"symbol": self.symbols[j], "interval": self.timeframe,
                                      "startTime": cursor, "limit": 1000}
            if end_ms is not None:
                params["endTime"] = end_ms
            # the server writes the answer after this moment: a row is surely closed if it had
            # closed by now (minus the clock estimate's error), whatever the answer's delay
            sent_at = self.server_ms()
            rows = await self._rest_get("/api/v3/klines", params)
            if not isinstance(rows, list):
                raise FeedError(f"REST /api/v3/klines returned {type(rows).__name__}; expected a list")
            margin = max(self._rtt_ms, 0.0)
            for i, row in enumerate(rows):
                k = _kline_from_row(row)
                closed = i + 1 < len(rows) or int(row[6]) + 1 + margin <= sent_at
                if closed:
                    out.append(k)
            if len(rows) < 1000:
                break
            cursor = int(rows[-1][0]) + self.interval_ms
        return out

    # ------------------------------------------------------------------ finals
    def _store(self, j: int, k: Kline) -> None:
        """Record a final kline of symbol ``j`` (first final version wins) and advance the frontier."""
        with self._cond:
            finals = self._finals[j]
            old = finals.get(k.open_ms)
            if old is not None:
                self.counters["duplicates"] += 1
                if (old.open, old.high, old.low, old.close, old.volume) != (k.open, k.high, k.low, k.close, k.volume):
                    self.counters["mismatches"] += 1
                    log.warning("%s %d: a later final copy differs from the first; kept the first",
                                self.symbols[j], k.open_ms)
                return
            sf = self._sym_frontier[j]
            if sf is not None and k.open_ms < sf:
                return  # older than what this feed tracks
            finals[k.open_ms] = k
            self.counters["finals_ws" if k.source == "ws" else "finals_rest"] += 1
            if sf is None:
                return
            while sf in finals:
                sf += self.interval_ms
            self._sym_frontier[j] = sf
            new = min(f for f in self._sym_frontier if f is not None) if all(
                f is not None for f in self._sym_frontier) else None
            if new is not None and (self._frontier is None or new > self._frontier):
                now = time.perf_counter()
                start = self._frontier if self._frontier is not None else new
                for t in range(start, new, self.interval_ms):
                    self._bar_done.setdefault(t, now)
                self._frontier = new
                self._prune(new)
                self._stale = False
                self._cond.notify_all()

    def _prune(self, frontier: int) -> None:
        """Forget bars more than `KEEP_BARS` before the frontier (bounded memory over long sessions)."""
        if len(self._bar_done) <= 2 * KEEP_BARS:
            return
        cut = frontier - KEEP_BARS * self.interval_ms
        self._bar_done = {t: v for t, v in self._bar_done.items() if t >= cut}
        for j, finals in enumerate(self._finals):
            self._finals[j] = {t: k for t, k in finals.items() if t >= cut}

    def _gap_behind(self, j: int, open_ms: int) -> bool:
        sf = self._sym_frontier[j]
        return sf is not None and open_ms > sf

    # ------------------------------------------------------------------ consumer API
    def backfill(self, n_bars: int, timeout: float = 60.0) -> None:
        """Fetch the last ``n_bars`` final bars by REST and start tracking from there (blocking).

        After this, bars are delivered contiguously from the first backfilled bar.
        """
        if isinstance(n_bars, bool) or not isinstance(n_bars, int) or n_bars < 1:
            raise ConfigError(f"n_bars={n_bars!r} is not allowed; allowed: an integer >= 1")
        self._call(self._backfill_last(n_bars), timeout)

    def resume_from(self, open_ms: int, timeout: float = 60.0) -> None:
        """Track bars from ``open_ms`` on (bars before it are known to the caller); backfill up to now."""
        self._call(self._resume(int(open_ms)), timeout)

    async def _backfill_last(self, n_bars: int) -> None:
        server_now = self.server_ms()
        current_open = int(server_now // self.interval_ms) * self.interval_ms
        start = current_open - n_bars * self.interval_ms
        await self._resume(start)

    async def _resume(self, start: int) -> None:
        self._catching_up = True  # history being fetched is not a stale feed
        try:
            await self._resume_from(start)
        finally:
            self._catching_up = False

    async def _resume_from(self, start: int) -> None:
        with self._cond:
            for j in range(len(self.symbols)):
                self._sym_frontier[j] = start
                for t in [t for t in self._finals[j] if t < start]:
                    del self._finals[j][t]
            self._frontier = start
        await self._backfill_all()

    async def _backfill_all(self) -> None:
        """REST backfill of every symbol from its frontier to now."""
        lock = self._backfill_lock
        assert lock is not None
        async with lock:
            for j in range(len(self.symbols)):
                sf = self._sym_frontier[j]
                if sf is None:
                    continue
                for k in await self._fetch_klines(j, sf):
                    self._store(j, k)

    def next_open_ms(self) -> int:
        """Open time of the first bar not yet final for every symbol."""
        if self._frontier is None:
            raise FeedError("the feed tracks no bars yet; call backfill() or resume_from() first")
        return self._frontier

    def bars(self, start_ms: int, stop_ms: int) -> list[Bar]:
        """Final bars with ``start_ms <= open < stop_ms`` (all must be final; contiguous)."""
        out = []
        with self._cond:
            for t in range(int(start_ms), int(stop_ms), self.interval_ms):
                ks = tuple(self._finals[j].get(t) for j in range(len(self.symbols)))
                if any(k is None for k in ks):
                    raise FeedError(f"bar {t} is not final for every symbol yet")
                out.append(Bar(t, ks, self._bar_done.get(t, 0.0)))  # type: ignore[arg-type]
        return out

    def wait_bar(self, open_ms: int, timeout: float | None = None) -> Bar:
        """Block until bar ``open_ms`` (and every bar before it) is final for every symbol.

        Raises:
            FeedTimeout: not final within ``timeout`` wall seconds.
            FeedError: the feed stopped.
        """
        deadline = None if timeout is None else time.perf_counter() + timeout
        with self._cond:
            while self._frontier is None or self._frontier <= open_ms:
                if self._error is not None or self.state is FeedState.STOPPED:
                    raise FeedError(f"the live feed stopped: {self._error}")
                left = None if deadline is None else deadline - time.perf_counter()
                if left is not None and left <= 0:
                    raise FeedTimeout(
                        f"bar {open_ms} of {', '.join(self.symbols)} {self.timeframe} was not final within {timeout} s "
                        f"(feed state {self.state.value}, stale={self._stale})"
                    )
                self._cond.wait(0.05 if left is None else min(left, 0.05))
            ks = tuple(self._finals[j][open_ms] for j in range(len(self.symbols)))
            return Bar(open_ms, ks, self._bar_done.get(open_ms, time.perf_counter()))

    def is_stale(self) -> bool:
        """True while the next expected bar is more than ``stale_after_s`` past its close (server time).

        Never while `backfill` / `resume_from` fetch the history they were asked for.
        """
        f = self._frontier
        if f is None or self._catching_up:
            return False
        late = self.server_ms() - (f + self.interval_ms)
        return late > self.config.stale_after_s * 1000.0

    def status(self) -> dict[str, Any]:
        """Feed state, staleness, clock offset, last message age and counters (JSON-friendly)."""
        now = time.perf_counter()
        return {
            "state": self.state.value,
            "stale": self.is_stale(),
            "clock_offset_ms": float(self._offset_ms),
            "clock_error_ms": float(self._rtt_ms / 2.0),
            "last_message_age_s": float((now - self._last_msg) * self.config.speed),
            "next_open_ms": self._frontier,
            "used_weight_1m": self._used_weight,
            "rest_blocked_s": max(0.0, self._rest_blocked_until - now),
            **self.counters,
        }

    # ------------------------------------------------------------------ websocket
    def _url(self) -> str:
        streams = [f"{s.lower()}@kline_{self.timeframe}" for s in self.symbols]
        base = self.config.ws_url.rstrip("/")
        if self.config.combined:
            return f"{base}/stream?streams={'/'.join(streams)}"
        return f"{base}/ws/{'/'.join(streams)}"

    async def _connection_loop(self) -> None:
        from websockets.asyncio.client import connect

        cfg = self.config
        backoff = cfg.reconnect_min_s
        first = True
        while not self._stopping:
            self.state = FeedState.CONNECTING
            if not first:
                self.counters["reconnects"] += 1
            first = False
            try:
                async with connect(
                    self._url(),
                    ping_interval=cfg.ping_interval_s,
                    ping_timeout=cfg.ping_timeout_s,
                    close_timeout=1.0,
                    open_timeout=max(1.0, cfg.rest_timeout_s),
                    max_size=2**22,
                ) as ws:
                    self._ws = ws
                    self._connected_at = time.perf_counter()
                    self._last_msg = time.perf_counter()
                    self._reconnect_now = False
                    self.state = FeedState.BACKFILLING
                    reader = asyncio.create_task(self._read(ws))
                    if self._frontier is not None:
                        try:
                            await self._backfill_all()
                        except FeedError as exc:
                            log.warning("backfill after connect failed: %s", exc)
                    if not reader.done():
                        self.state = FeedState.LIVE
                        backoff = cfg.reconnect_min_s
                    await reader
            except _Stop:
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.info("websocket connection ended: %s", exc)
            finally:
                self._ws = None
            if self._stopping:
                return
            self.state = FeedState.BACKOFF
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, cfg.reconnect_max_s)

    async def _read(self, ws: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in ws:
                self._last_msg = time.perf_counter()
                self.counters["messages"] += 1
                try:
                    msg = json.loads(raw)
                except ValueError:
                    continue
                # raw stream: the event; combined stream: {"stream", "data"}; connection events may
                # also come as {"event": {...}} (Binance's websocket API form)
                data = (msg.get("data") or msg.get("event") or msg) if isinstance(msg, dict) else None
                if not isinstance(data, dict):
                    continue
                ev = data.get("e")
                if ev == "kline":
                    self._on_kline(data)
                elif ev == "serverShutdown":
                    self.counters["server_shutdowns"] += 1
                    log.info("serverShutdown event: reconnecting")
                    await ws.close(1000, "reconnect after serverShutdown")
                    return
        except ConnectionClosed:
            return

    def _on_kline(self, data: dict[str, Any]) -> None:
        k = data.get("k") or {}
        if not k.get("x"):
            return
        try:
            j = self.symbols.index(str(k["s"]))
        except (KeyError, ValueError):
            return
        kline = Kline(
            int(k["t"]), float(k["o"]), float(k["h"]), float(k["l"]), float(k["c"]), float(k["v"]),
            float(k.get("q", 0.0)), float(k.get("n", 0)), float(k.get("V", 0.0)), float(k.get("Q", 0.0)), "ws",
        )
        gap = self._gap_behind(j, kline.open_ms)
        self._store(j, kline)
        if gap and self._loop is not None:
            self._spawn(self._safe_backfill())

    async def _safe_backfill(self) -> None:
        try:
            await self._backfill_all()
        except (FeedError, _Stop) as exc:
            log.warning("gap backfill failed: %s", exc)

    # ------------------------------------------------------------------ deadlines
    async def _watchdog(self) -> None:
        cfg = self.config
        tick = max(0.005, min(self._wall(cfg.final_grace_s), self._wall(cfg.liveness_s), 0.25) / 4)
        while not self._stopping:
            await asyncio.sleep(tick)
            now = time.perf_counter()
            ws = self._ws
            if ws is not None and self.state is FeedState.LIVE:
                if now - self._last_msg > self._wall(cfg.liveness_s):
                    self.counters["liveness_timeouts"] += 1
                    log.warning("no stream message for %.1f market s: reconnecting", cfg.liveness_s)
                    ws.transport.abort()
                elif now - self._connected_at > self._wall(cfg.max_connection_s):
                    self.counters["connection_renewals"] += 1
                    await ws.close(1000, "connection age limit")
            if now - self._synced_at > self._wall(cfg.clock_sync_s):
                try:
                    await self._sync_clock()
                except (FeedError, _Stop) as exc:
                    log.warning("clock sync failed: %s", exc)
                    self._synced_at = now
            stale = self.is_stale()
            if stale and not self._stale:
                self.counters["stale_events"] += 1
                log.warning("feed is stale: bar %s is past its close and not final", self._frontier)
            self._stale = stale
            # final-candle rule: confirm by REST when x=true is late
            behind = [j for j, f in enumerate(self._sym_frontier)
                      if f is not None and self.server_ms() >= f + self.interval_ms + cfg.final_grace_s * 1000.0]
            busy = self._backfill_lock is not None and self._backfill_lock.locked()
            if behind and not self._confirm_inflight and not busy:
                self._confirm_inflight = True
                self._spawn(self._confirm(behind))

    async def _confirm(self, symbols: list[int]) -> None:
        lock = self._backfill_lock
        assert lock is not None
        try:
            async with lock:  # never beside a backfill: both would fetch and store the same candles
                for j in symbols:
                    sf = self._sym_frontier[j]
                    if sf is None:
                        continue
                    for k in await self._fetch_klines(j, sf):
                        self._store(j, k)
        except (FeedError, _Stop) as exc:
            log.warning("REST confirmation failed: %s", exc)
        finally:
            self._confirm_inflight = False


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except ValueError:
        return None
    return v if math.isfinite(v) and v >= 0 else None


def _kline_from_row(row: Any) -> Kline:
    try:
        return Kline(
            int(row[0]), float(row[1]), float(row[2]), float(row[3]), float(row[4]), float(row[5]),
            float(row[7]), float(row[8]), float(row[9]), float(row[10]), "rest",
        )
    except (TypeError, ValueError, IndexError) as exc:
        raise DataError(f"malformed /api/v3/klines row {row!r}: {exc}") from None


def bars_to_arrays(bars: Sequence[Bar]) -> dict[str, np.ndarray]:
    """``open_time`` (T,) ns and ``(T, S)`` arrays of every field from a list of bars."""
    fields = ("open", "high", "low", "close", "volume", "quote_volume", "trades",
              "taker_buy_base_volume", "taker_buy_quote_volume")
    out: dict[str, np.ndarray] = {"open_time": np.array([b.open_ms for b in bars], dtype=np.int64) * 1_000_000}
    for f in fields:
        out[f] = np.array([[getattr(k, f) for k in b.klines] for b in bars], dtype=np.float64).reshape(
            len(bars), -1)
    return out

"""A local server speaking Binance's kline websocket and REST formats from cached candles.

`ReplayServer` streams a `MarketData` as if it were live, on a virtual clock running ``speed`` times
faster than the wall clock, at ``127.0.0.1`` on a free port, with both protocols on the same port:

* websocket: raw streams ``/ws/<symbol>@kline_<interval>`` (several: ``/ws/<a>/<b>``) and combined
  streams ``/stream?streams=<a>/<b>`` (messages wrapped as ``{"stream": ..., "data": ...}``); the
  ``SUBSCRIBE`` / ``UNSUBSCRIBE`` / ``LIST_SUBSCRIPTIONS`` methods; server pings (``ping_interval_s``);
  the ``serverShutdown`` event; a connection age limit (Binance's 24 h cut).
* REST: ``/api/v3/klines`` (the current, unfinished candle included, as Binance does),
  ``/api/v3/time``, ``/api/v3/ping``, a minimal ``/api/v3/exchangeInfo``; every REST answer carries
  ``X-MBX-USED-WEIGHT-1M``; over the weight limit it answers 429 with ``Retry-After``, and 418 to a
  client that keeps calling during a 429 back-off.

Kline messages carry Binance's fields ``e, E, s, k{t, T, s, i, f, L, o, c, h, l, v, n, x, q, V, Q, B}``.
Each bar gets ``updates_per_bar - 1`` intermediate ``x=false`` messages (a candle growing from its
open toward its final values, inside its final high/low) and then its final ``x=true`` message at its
close time. Values are the cached candles' float64 values written with ``repr`` so a client parses
back exactly the same numbers.

Faults (`ReplayFaults`) are keyed by bar index in the market data and may be changed while the
server runs: dropped sockets, silent stalls, missing / duplicate / late final messages, outages
that leave a gap after the reconnect, a skewed server clock, REST errors (5xx, 429, 418) and a
``serverShutdown`` event.

Example:
    >>> with ReplayServer(market, start_index=200, speed=900) as server:  # doctest: +SKIP
    ...     print(server.ws_url, server.rest_url)
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from tradeready_gym.data.market import MarketData
from tradeready_gym.errors import ConfigError

__all__ = ["ReplayFaults", "ReplayServer", "VirtualClock", "kline_event", "kline_row"]

log = logging.getLogger(__name__)

_NS_PER_MS = 1_000_000


class VirtualClock:
    """Market time in ms that starts at ``start_ms`` and runs ``speed`` times faster than the wall clock.

    Args:
        start_ms: the market time (ms UTC) at `start`.
        speed: market seconds per wall second (> 0).
    """

    def __init__(self, start_ms: int, speed: float = 1.0) -> None:
        if not (speed > 0 and np.isfinite(speed)):
            raise ConfigError(f"speed={speed!r} is not allowed; allowed: a finite number > 0")
        self.start_ms = int(start_ms)
        self.speed = float(speed)
        self._t0 = time.perf_counter()

    def restart(self) -> None:
        """Set the clock back to ``start_ms`` now."""
        self._t0 = time.perf_counter()

    def now_ms(self) -> float:
        """The market time now (ms UTC, fractional)."""
        return self.start_ms + (time.perf_counter() - self._t0) * 1000.0 * self.speed

    def wall_seconds_until(self, market_ms: float) -> float:
        """Wall seconds until the clock reads ``market_ms`` (<= 0 when already past)."""
        return (market_ms - self.now_ms()) / (1000.0 * self.speed)


@dataclass
class ReplayFaults:
    """Fault switches of a `ReplayServer`, keyed by bar index in its market data.

    Attributes:
        drop_before_final: bars whose final message is lost: every socket is cut (no close frame)
            just before it would be sent.
        stall: bar -> market seconds of silence starting just before the bar's final message; the
            sockets stay open (protocol pings are still answered), no data flows, also to new
            connections. The final messages of the silent period are never sent.
        skip_final: bars whose ``x=true`` message is never sent.
        duplicate_final: bars whose ``x=true`` message is sent twice.
        late_final: bar -> market seconds the ``x=true`` message is sent after the bar's close.
        outage: bar -> number of bars: just before the bar's final message every socket is cut and
            new connections are refused (HTTP 503) for that many bars, so a reconnecting client
            finds a gap of missed finals.
        shutdown_before_final: bars before whose final message a ``serverShutdown`` event is sent;
            the sockets are closed ``shutdown_grace_s`` wall seconds later.
        clock_skew_ms: the server's clock minus the true virtual clock (both the reported times and
            the times candles close at follow the server's clock).
        max_connection_s: market seconds after which the server closes a connection (Binance: 24 h).
        rest_errors: path -> list of statuses to answer to the next requests of that path (each
            used once, in order), e.g. ``{"/api/v3/klines": [500, 429]}``.
        retry_after_s: the ``Retry-After`` (wall seconds) of 429 and 418 answers.
        weight_limit: REST request weight allowed per wall minute before 429.
    """

    drop_before_final: set[int] = field(default_factory=set)
    stall: dict[int, float] = field(default_factory=dict)
    skip_final: set[int] = field(default_factory=set)
    duplicate_final: set[int] = field(default_factory=set)
    late_final: dict[int, float] = field(default_factory=dict)
    outage: dict[int, int] = field(default_factory=dict)
    shutdown_before_final: set[int] = field(default_factory=set)
    shutdown_grace_s: float = 0.05
    clock_skew_ms: int = 0
    max_connection_s: float | None = None
    rest_errors: dict[str, list[int]] = field(default_factory=dict)
    retry_after_s: float = 1.0
    weight_limit: int = 6000


def _num(x: float) -> str:
    return repr(float(x))


def kline_row(market: MarketData, k: int, j: int, frac: float = 1.0) -> list[Any]:
    """The REST ``/api/v3/klines`` row of bar ``k`` of symbol column ``j`` (``frac`` < 1: unfinished)."""
    o, h, lo, c, v, qv, n, tb, tq = _values(market, k, j, frac)
    ot = int(market.open_time[k]) // _NS_PER_MS
    ct = ot + market.interval_ns // _NS_PER_MS - 1
    return [ot, _num(o), _num(h), _num(lo), _num(c), _num(v), ct, _num(qv), int(n), _num(tb), _num(tq), "0"]


def kline_event(market: MarketData, k: int, j: int, frac: float, final: bool, event_ms: int) -> dict[str, Any]:
    """The websocket kline event of bar ``k`` of symbol column ``j`` (Binance's field names)."""
    o, h, lo, c, v, qv, n, tb, tq = _values(market, k, j, frac)
    sym = market.symbols[j]
    ot = int(market.open_time[k]) // _NS_PER_MS
    ct = ot + market.interval_ns // _NS_PER_MS - 1
    first_trade = 1_000_000 * (k + 1)
    return {
        "e": "kline",
        "E": int(event_ms),
        "s": sym,
        "k": {
            "t": ot,
            "T": ct,
            "s": sym,
            "i": market.timeframe,
            "f": first_trade,
            "L": first_trade + max(int(n) - 1, 0),
            "o": _num(o),
            "c": _num(c),
            "h": _num(h),
            "l": _num(lo),
            "v": _num(v),
            "n": int(n),
            "x": bool(final),
            "q": _num(qv),
            "V": _num(tb),
            "Q": _num(tq),
            "B": "0",
        },
    }


def _values(market: MarketData, k: int, j: int, frac: float) -> tuple[float, ...]:
    o = float(market.open[k, j])
    h = float(market.high[k, j])
    lo = float(market.low[k, j])
    c = float(market.close[k, j])
    v = float(market.volume[k, j])
    ex = market.extra
    qv = float(ex["quote_volume"][k, j]) if "quote_volume" in ex else v * c
    n = float(ex["trades"][k, j]) if "trades" in ex else 0.0
    tb = float(ex["taker_buy_base_volume"][k, j]) if "taker_buy_base_volume" in ex else 0.0
    tq = float(ex["taker_buy_quote_volume"][k, j]) if "taker_buy_quote_volume" in ex else 0.0
    if frac >= 1.0:
        return o, h, lo, c, v, qv, n, tb, tq
    f = max(0.0, float(frac))
    cp = o + (c - o) * f
    hp = min(h, max(o, cp) + (h - max(o, c)) * f)
    lp = max(lo, min(o, cp) - (min(o, c) - lo) * f)
    return o, max(hp, o, cp), min(lp, o, cp), cp, v * f, qv * f, float(int(n * f)), tb * f, tq * f


class _Conn:
    """One websocket connection and the streams it subscribed to."""

    def __init__(self, ws: Any, streams: set[str], combined: bool, opened_ms: float) -> None:
        self.ws = ws
        self.streams = streams
        self.combined = combined
        self.opened_ms = opened_ms


class ReplayServer:
    """Binance kline websocket + REST formats over cached candles, on a virtual clock (see module doc).

    Args:
        market: the candles to replay (one aligned grid; every symbol streams).
        start_index: the bar that is open when the server starts: earlier bars are history (REST),
            this bar and later ones stream live. Default: bar 1 (the first bar is history).
        speed: market seconds per wall second (e.g. 60: one 1m candle per wall second).
        updates_per_bar: messages per bar and symbol (the last is the final ``x=true``); >= 1.
        faults: the fault switches (`ReplayFaults`), changeable while running.
        host: always ``127.0.0.1`` by default; port 0 picks a free port.
        ping_interval_s: wall seconds between server pings (None: no pings).
        ping_timeout_s: wall seconds the server waits for a pong before closing.
    """

    def __init__(
        self,
        market: MarketData,
        *,
        start_index: int = 1,
        speed: float = 60.0,
        updates_per_bar: int = 3,
        faults: ReplayFaults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        ping_interval_s: float | None = 20.0,
        ping_timeout_s: float | None = 60.0,
    ) -> None:
        if not isinstance(market, MarketData):
            raise ConfigError(f"market must be a MarketData; got {type(market).__name__}")
        if not isinstance(start_index, int) or not (0 <= start_index < market.n_bars):
            raise ConfigError(f"start_index={start_index!r} is out of range; allowed: 0 .. {market.n_bars - 1}")
        if not isinstance(updates_per_bar, int) or updates_per_bar < 1:
            raise ConfigError(f"updates_per_bar={updates_per_bar!r} is not allowed; allowed: an integer >= 1")
        steps = np.diff(market.open_time)
        if steps.size and not (steps == market.interval_ns).all():
            k = int(np.flatnonzero(steps != market.interval_ns)[0])
            raise ConfigError(
                f"market has a gap after bar {k}; the replay server needs one contiguous grid (as Binance streams)"
            )
        self.market = market
        self.start_index = int(start_index)
        self.interval_ms = market.interval_ns // _NS_PER_MS
        self.clock = VirtualClock(int(market.open_time[start_index]) // _NS_PER_MS, speed)
        self.updates_per_bar = updates_per_bar
        self.faults = faults if faults is not None else ReplayFaults()
        self.host = host
        self.port = int(port)
        self.ping_interval_s = ping_interval_s
        self.ping_timeout_s = ping_timeout_s
        self._streams = {f"{s.lower()}@kline_{market.timeframe}": j for j, s in enumerate(market.symbols)}
        self._conns: set[_Conn] = set()
        self._tasks: set[asyncio.Future[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._refuse_until_ms = -1.0
        self._silent_until_ms = -1.0
        self._weight: list[tuple[float, int]] = []
        self._retry_until = 0.0
        self._lock = threading.Lock()
        #: Every REST request: ``(wall perf_counter, path, status)``.
        self.requests: list[tuple[float, str, int]] = []
        #: Every final message sent: ``(bar index, symbol)`` (duplicates appear twice).
        self.finals_sent: list[tuple[int, str]] = []
        #: Websocket connections accepted so far.
        self.connections_accepted = 0
        #: The bar currently open (advances as the clock passes close times).
        self.current_index = self.start_index

    # ------------------------------------------------------------------ time
    def server_ms(self) -> float:
        """The server's clock (virtual clock + ``clock_skew_ms``), ms UTC."""
        return self.clock.now_ms() + self.faults.clock_skew_ms

    async def _sleep_until_server(self, server_ms: float) -> None:
        while True:
            wait = (server_ms - self.server_ms()) / (1000.0 * self.clock.speed)
            if wait <= 0:
                return
            await asyncio.sleep(min(wait, 0.05))

    # ------------------------------------------------------------------ lifecycle
    @property
    def ws_url(self) -> str:
        """Base websocket URL (``ws://127.0.0.1:<port>``); streams are under ``/ws/`` and ``/stream``."""
        return f"ws://{self.host}:{self.port}"

    @property
    def rest_url(self) -> str:
        """Base REST URL (``http://127.0.0.1:<port>``); endpoints are under ``/api/v3/``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> ReplayServer:
        """Start serving in a background thread; returns once the port is bound."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._thread_main, name="replay-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the replay server did not start within 30 s")
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        """Stop serving and join the thread."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(10)
        self._thread = None

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self, should_stop: Callable[[], bool] | None = None) -> None:
        """Run in the calling thread until `stop` (or ``should_stop()`` returns True)."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                if should_stop is not None and should_stop():
                    break
                time.sleep(0.2)
        finally:
            self.stop()

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # pragma: no cover - reported to start()
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        from websockets.asyncio.server import serve

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(
            self._handler,
            self.host,
            self.port,
            process_request=self._process_request,
            ping_interval=self.ping_interval_s,
            ping_timeout=self.ping_timeout_s,
            close_timeout=1.0,
        ) as server:
            sock = next(iter(server.sockets))
            self.port = int(sock.getsockname()[1])
            self.clock.restart()
            market_task = asyncio.create_task(self._run_market())
            self._ready.set()
            await self._stop.wait()
            market_task.cancel()
            for c in list(self._conns):
                c.ws.transport.abort()
            server.close()

    # ------------------------------------------------------------------ streaming
    async def _run_market(self) -> None:
        m = self.market
        k = self.start_index
        n_updates = self.updates_per_bar
        iv = self.interval_ms
        while k < m.n_bars:
            self.current_index = k
            open_ms = int(m.open_time[k]) // _NS_PER_MS
            for u in range(1, n_updates):
                await self._sleep_until_server(open_ms + iv * u / n_updates)
                await self._broadcast(k, u / n_updates, final=False)
            await self._sleep_until_server(open_ms + iv)
            await self._final(k)
            k += 1
        self.current_index = m.n_bars

    async def _final(self, k: int) -> None:
        f = self.faults
        now = self.server_ms()
        if k in f.shutdown_before_final:
            self._send_all({"e": "serverShutdown", "E": int(now)})
            asyncio.get_running_loop().call_later(f.shutdown_grace_s, self._close_all)
        if k in f.outage:
            self._refuse_until_ms = now + f.outage[k] * self.interval_ms
            self._abort_all()
            return
        if k in f.drop_before_final:
            self._abort_all()
            return
        if k in f.stall:
            self._silent_until_ms = now + f.stall[k] * 1000.0
            return
        if k in f.skip_final:
            return
        if k in f.late_final:
            asyncio.get_running_loop().call_later(
                f.late_final[k] / self.clock.speed, lambda: self._spawn(self._broadcast(k, 1.0, final=True))
            )
            return
        await self._broadcast(k, 1.0, final=True)
        if k in f.duplicate_final:
            await self._broadcast(k, 1.0, final=True)

    async def _broadcast(self, k: int, frac: float, *, final: bool) -> None:
        if self.server_ms() < self._silent_until_ms:
            return
        m = self.market
        max_age = self.faults.max_connection_s
        now = self.server_ms()
        for c in list(self._conns):
            if max_age is not None and now - c.opened_ms >= max_age * 1000.0:
                self._conns.discard(c)
                await c.ws.close(1000, "connection age limit")
                continue
            for stream in sorted(c.streams):
                j = self._streams.get(stream)
                if j is None:
                    continue
                event = kline_event(m, k, j, frac, final, int(self.server_ms()))
                msg = {"stream": stream, "data": event} if c.combined else event
                try:
                    await c.ws.send(json.dumps(msg, separators=(",", ":")))
                except Exception:
                    self._conns.discard(c)
                    break
                if final:
                    self.finals_sent.append((k, m.symbols[j]))

    def _send_all(self, msg: dict[str, Any]) -> None:
        text = json.dumps(msg)
        for c in list(self._conns):
            self._spawn(self._safe_send(c, text))

    async def _safe_send(self, c: _Conn, text: str) -> None:
        try:
            await c.ws.send(text)
        except Exception:
            self._conns.discard(c)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _abort_all(self) -> None:
        for c in list(self._conns):
            c.ws.transport.abort()
        self._conns.clear()

    def _close_all(self) -> None:
        for c in list(self._conns):
            self._spawn(c.ws.close(1001, "server shutdown"))
        self._conns.clear()

    def drop_connections(self) -> None:
        """Cut every websocket now (no close frame), from any thread."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._abort_all)

    # ------------------------------------------------------------------ websocket handler
    def _parse_streams(self, path: str) -> tuple[set[str], bool] | None:
        parts = urlsplit(path)
        if parts.path == "/stream":
            names = parse_qs(parts.query).get("streams", [""])[0]
            return {s for s in names.split("/") if s}, True
        if parts.path == "/ws" or parts.path.startswith("/ws/"):
            return {s for s in parts.path[len("/ws") :].split("/") if s}, False
        return None

    async def _handler(self, ws: Any) -> None:
        parsed = self._parse_streams(ws.request.path)
        assert parsed is not None
        streams, combined = parsed
        conn = _Conn(ws, {s.lower() for s in streams}, combined, self.server_ms())
        self._conns.add(conn)
        self.connections_accepted += 1
        try:
            async for raw in ws:
                try:
                    req = json.loads(raw)
                except ValueError:
                    await ws.send(json.dumps({"error": {"code": 2, "msg": "Invalid JSON"}}))
                    continue
                method = req.get("method") if isinstance(req, dict) else None
                rid = req.get("id") if isinstance(req, dict) else None
                params = [str(p).lower() for p in (req.get("params") or [])] if isinstance(req, dict) else []
                if method == "SUBSCRIBE":
                    conn.streams.update(params)
                    await ws.send(json.dumps({"result": None, "id": rid}))
                elif method == "UNSUBSCRIBE":
                    conn.streams.difference_update(params)
                    await ws.send(json.dumps({"result": None, "id": rid}))
                elif method == "LIST_SUBSCRIPTIONS":
                    await ws.send(json.dumps({"result": sorted(conn.streams), "id": rid}))
                else:
                    await ws.send(json.dumps({"error": {"code": 1, "msg": f"Unknown method {method!r}"}, "id": rid}))
        except Exception:
            pass
        finally:
            self._conns.discard(conn)

    # ------------------------------------------------------------------ REST
    def _process_request(self, connection: Any, request: Any) -> Any:
        parts = urlsplit(request.path)
        if parts.path == "/stream" or parts.path == "/ws" or parts.path.startswith("/ws/"):
            if self.server_ms() < self._refuse_until_ms:
                return self._response(503, {"code": -1001, "msg": "Service unavailable (replay outage)."})
            parsed = self._parse_streams(request.path)
            if parsed is not None:
                unknown = [s for s in parsed[0] if s.lower() not in self._streams]
                if unknown:
                    return self._response(400, {"code": -1121, "msg": f"Invalid stream(s): {unknown}"})
            return None
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        status, body, weight = self._rest(parts.path, query)
        return self._response(status, body, weight=weight)

    def _used_weight(self, add: int) -> int:
        now = time.perf_counter()
        with self._lock:
            self._weight = [(t, w) for t, w in self._weight if now - t < 60.0]
            if add:
                self._weight.append((now, add))
            return sum(w for _, w in self._weight)

    def _rest(self, path: str, q: dict[str, str]) -> tuple[int, Any, int]:
        f = self.faults
        now = time.perf_counter()
        weights = {"/api/v3/klines": 2, "/api/v3/time": 1, "/api/v3/ping": 1, "/api/v3/exchangeInfo": 20}
        if path not in weights:
            return self._log(path, 404, {"code": -1000, "msg": f"Unknown path {path}"}, 0)
        if now < self._retry_until:
            # calling again during a 429 back-off earns an IP ban (Binance answers 418)
            self._retry_until = now + f.retry_after_s
            return self._log(path, 418, {"code": -1003, "msg": "Way too many requests; IP banned."}, 0)
        queued = f.rest_errors.get(path)
        if queued:
            status = queued.pop(0)
            if status in (429, 418):
                self._retry_until = now + f.retry_after_s
                return self._log(path, status, {"code": -1003, "msg": "Too many requests."}, 0)
            return self._log(path, status, {"code": -1001, "msg": "Internal error; unable to process your request."}, 0)
        used = self._used_weight(weights[path])
        if used > f.weight_limit:
            self._retry_until = now + f.retry_after_s
            return self._log(path, 429, {"code": -1003, "msg": "Too much request weight used."}, 0)
        if path == "/api/v3/ping":
            return self._log(path, 200, {}, weights[path])
        if path == "/api/v3/time":
            return self._log(path, 200, {"serverTime": int(self.server_ms())}, weights[path])
        if path == "/api/v3/exchangeInfo":
            return self._log(path, 200, self._exchange_info(), weights[path])
        return self._klines(q, weights[path])

    def _log(self, path: str, status: int, body: Any, weight: int) -> tuple[int, Any, int]:
        with self._lock:
            self.requests.append((time.perf_counter(), path, status))
        return status, body, weight

    def _exchange_info(self) -> dict[str, Any]:
        symbols = []
        for s in self.market.symbols:
            base = s[:-4] if s.endswith("USDT") else s[:-3]
            quote = s[len(base) :]
            symbols.append(
                {
                    "symbol": s,
                    "status": "TRADING",
                    "baseAsset": base,
                    "quoteAsset": quote,
                    "isSpotTradingAllowed": True,
                    "filters": [],
                }
            )
        return {
            "timezone": "UTC",
            "serverTime": int(self.server_ms()),
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": self.faults.weight_limit}
            ],
            "symbols": symbols,
        }

    def _klines(self, q: dict[str, str], weight: int) -> tuple[int, Any, int]:
        path = "/api/v3/klines"
        m = self.market
        sym = q.get("symbol", "")
        if sym not in m.symbols:
            return self._log(path, 400, {"code": -1121, "msg": "Invalid symbol."}, weight)
        if q.get("interval") != m.timeframe:
            return self._log(path, 400, {"code": -1120, "msg": "Invalid interval."}, weight)
        try:
            limit = int(q.get("limit", "500"))
            start = int(q["startTime"]) if "startTime" in q else None
            end = int(q["endTime"]) if "endTime" in q else None
        except ValueError:
            return self._log(path, 400, {"code": -1100, "msg": "Illegal characters found in a parameter."}, weight)
        if not (1 <= limit <= 1000):
            return self._log(path, 400, {"code": -1130, "msg": "Invalid data sent for a parameter (limit)."}, weight)
        j = m.symbols.index(sym)
        now = self.server_ms()
        ot_ms = m.open_time // _NS_PER_MS
        visible = int(np.searchsorted(ot_ms, now, side="right"))  # bars opened by now (the last may be open)
        lo = 0 if start is None else int(np.searchsorted(ot_ms, start, side="left"))
        hi = visible if end is None else min(visible, int(np.searchsorted(ot_ms, end, side="right")))
        if start is None and end is not None:
            lo = max(0, hi - limit)
        elif start is None:
            lo = max(0, hi - limit)
        hi = min(hi, lo + limit)
        rows = []
        for k in range(lo, hi):
            frac = (now - float(ot_ms[k])) / self.interval_ms
            rows.append(kline_row(m, k, j, 1.0 if frac >= 1.0 else frac))
        return self._log(path, 200, rows, weight)

    def _response(self, status: int, body: Any, *, weight: int = 0) -> Any:
        from websockets.datastructures import Headers
        from websockets.http11 import Response

        reasons = {200: "OK", 400: "Bad Request", 404: "Not Found", 418: "I'm a teapot", 429: "Too Many Requests",
                   500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
        data = json.dumps(body, separators=(",", ":")).encode()
        headers = Headers()
        headers["Content-Type"] = "application/json;charset=UTF-8"
        headers["Content-Length"] = str(len(data))
        headers["X-MBX-USED-WEIGHT-1M"] = str(self._used_weight(0))
        headers["Connection"] = "close"
        if status in (429, 418):
            headers["Retry-After"] = str(max(1, round(self.faults.retry_after_s))) if self.faults.retry_after_s >= 1 else (
                f"{self.faults.retry_after_s:g}"
            )
        return Response(status, reasons.get(status, "Error"), headers, data)

"""REST backtest sessions, run by the library's `tradeready_gym.engine.Engine` in this process.

One session = one engine account over the candles of its pairs (plus up to ``max_candles`` bars of
history before ``start_time`` for the candle routes). The clock follows the embedded env
(`tradeready_gym.envs.feed.DataFeed`): the first decision is at the close of the first bar whose
open time is at or after ``start_time``; the last at the close of the last bar opening before
``end_time``; ``total_steps`` is the number of steps between them. ``virtual_time`` is the close
time of the decision bar, and candles returned by a session are the bars closed by then.

Orders: a market order placed between two steps is queued and filled by the next ``step`` exactly as
the embedded env fills its action's orders (at the next bar's open, sells before buys, with the same
fee and the same clipping of buys to cash and of sells to the holding); orders for one symbol in one
step are netted. A sell of a symbol not held is refused (400 ``INSUFFICIENT_BALANCE``), as is a buy
with no cash. Limit / stop-loss / take-profit orders become the engine's pending orders.

Sessions live in memory; the database row is written on create, start, completion and cancel. A
completed session stays readable (status, candles, prices, results, orders, trades, equity curve);
only a further ``step`` is refused (409). Each API key may hold ``max_sessions_per_key`` sessions in
memory: creating one more drops the least recently used finished session, or else cancels the least
recently used open one; sessions idle for ``session_idle_s`` are cancelled.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import select

from tradeready_gym.data.market import MarketData
from tradeready_gym.engine import Engine
from tradeready_gym.errors import ConfigError, DataError, DataNotFoundError, InvalidOrderError
from tradeready_gym.timeframes import TIMEFRAMES, format_iso, parse_time
from tradeready_platform.db import Database
from tradeready_platform.errors import ApiError
from tradeready_platform.models import BacktestSession, utcnow
from tradeready_platform.settings import Settings

__all__ = [
    "INTERVAL_SECONDS",
    "BacktestService",
    "Session",
    "dec",
    "interval_label",
]

log = logging.getLogger(__name__)

#: ``candle_interval`` seconds accepted on create, and their timeframe labels.
INTERVAL_SECONDS: dict[int, str] = {
    60: "1m",
    300: "5m",
    900: "15m",
    1800: "30m",
    3600: "1h",
    14400: "4h",
    86400: "1d",
}
_OPEN = ("created", "running")


def dec(x: float) -> str:
    """A float as the shortest decimal string that reads back to the same float (``"0.1"``)."""
    return repr(float(x))


def _num(x: float) -> float | None:
    v = float(x)
    return v if math.isfinite(v) else None


def _dec_or_none(x: float) -> str | None:
    v = float(x)
    return repr(v) if math.isfinite(v) else None


def _close_seconds(open_time: np.ndarray, bars: list[int], interval_ns: int) -> list[int]:
    """Close times (whole seconds since the epoch) of ``bars``, as plain ints."""
    ns = open_time[np.asarray(bars, dtype=np.int64)] + np.int64(interval_ns)
    return (ns // 1_000_000_000).tolist()  # type: ignore[no-any-return]


def interval_label(value: str | int) -> str:
    """A candle interval given as a label (``"1h"``) or seconds (``3600``, ``"3600"``) -> its label.

    Raises:
        RequestValidationError: FastAPI's 422 for anything else.
    """
    s = str(value).strip()
    if s in TIMEFRAMES:
        return s
    if s.isdigit():
        sec = int(s)
        for label, ns in TIMEFRAMES.items():
            if ns == sec * 1_000_000_000:
                return label
    from fastapi.exceptions import RequestValidationError

    msg = f"interval={value!r} is not allowed; allowed: {', '.join(TIMEFRAMES)} or their length in seconds"
    raise RequestValidationError([{"type": "value_error", "loc": ("query", "interval"), "msg": msg, "input": value}])


@dataclass
class OrderRecord:
    """An order of a session as the API reports it."""

    order_id: str
    symbol: str
    side: str
    type: str
    quantity: float
    price: float | None
    status: str
    created_step: int
    executed_price: float | None = None
    executed_qty: float | None = None
    fee: float | None = None
    filled_step: int | None = None

    def public(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "symbol": self.symbol,
            "side": self.side,
            "type": self.type,
            "quantity": dec(self.quantity),
            "price": None if self.price is None else dec(self.price),
            "status": self.status,
            "executed_price": None if self.executed_price is None else dec(self.executed_price),
            "executed_qty": None if self.executed_qty is None else dec(self.executed_qty),
            "fee": None if self.fee is None else dec(self.fee),
            "created_step": self.created_step,
            "filled_step": self.filled_step,
        }


@dataclass
class Session:
    """The in-memory state of one backtest session (guarded by ``lock``)."""

    id: str
    account_id: int
    key_id: int | None
    config: dict[str, Any]
    market: MarketData
    engine: Engine
    start_index: int
    end_index: int
    total_steps: int
    status: str = "created"
    step: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_used: float = field(default_factory=time.monotonic)
    started_wall: float | None = None
    queued: np.ndarray = field(default_factory=lambda: np.zeros(0))
    queued_orders: list[OrderRecord] = field(default_factory=list)
    pending: dict[int, OrderRecord] = field(default_factory=dict)
    orders: list[OrderRecord] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    fills_since_step: list[dict[str, Any]] = field(default_factory=list)
    eq_bars: list[int] = field(default_factory=list)
    eq_values: list[float] = field(default_factory=list)
    results: dict[str, Any] | None = None

    @property
    def symbols(self) -> tuple[str, ...]:
        return self.engine.symbols

    @property
    def interval_ns(self) -> int:
        return self.engine.interval_ns

    def virtual_time(self) -> str:
        """Close time of the decision bar (ISO 8601)."""
        t = int(self.engine.t[0])
        return format_iso(int(self.market.open_time[t]) + self.interval_ns)

    # ------------------------------------------------------------------ responses
    def portfolio(self) -> dict[str, Any]:
        eng = self.engine
        close = eng.clock_close()[0]
        qty = eng.qty[0]
        avg = eng.avg_price[0]
        positions = []
        for j, sym in enumerate(self.symbols):
            q = float(qty[j])
            if q > 0.0:
                px = float(close[j])
                positions.append(
                    {
                        "symbol": sym,
                        "quantity": dec(q),
                        "avg_entry_price": dec(avg[j]),
                        "current_price": dec(px),
                        "market_value": dec(q * px),
                        "unrealized_pnl": dec((px - float(avg[j])) * q),
                    }
                )
        pv = dec(eng.position_value[0])
        return {
            "total_equity": dec(eng.equity[0]),
            "available_cash": dec(eng.cash[0] - eng.reserved_cash[0]),
            "cash": dec(eng.cash[0]),
            "position_value": pv,
            "total_position_value": pv,
            "unrealized_pnl": dec(eng.unrealized_pnl[0]),
            "realized_pnl": dec(eng.realized_pnl[0]),
            "starting_balance": dec(eng.config.starting_balance),
            "positions": positions,
        }

    def prices(self) -> dict[str, str]:
        close = self.engine.clock_close()[0]
        return {s: dec(close[j]) for j, s in enumerate(self.symbols)}

    def step_response(self, fills: list[dict[str, Any]]) -> dict[str, Any]:
        done = self.status == "completed"
        return {
            "session_id": self.id,
            "virtual_time": self.virtual_time(),
            "step": self.step,
            "total_steps": self.total_steps,
            "progress_pct": f"{100.0 * self.step / self.total_steps:.2f}",
            "prices": self.prices(),
            "orders_filled": fills,
            "filled_orders": fills,
            "portfolio": self.portfolio(),
            "is_complete": done,
            "remaining_steps": self.total_steps - self.step,
            "status": self.status,
        }


class BacktestService:
    """All backtest sessions of one server.

    Args:
        db: the server's database.
        settings: the server's settings (data folder, per-key caps, limits).
    """

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()
        self._markets: OrderedDict[tuple[tuple[str, ...], str], MarketData] = OrderedDict()
        self._market_lock = threading.Lock()

    # ------------------------------------------------------------------ data
    def full_market(self, symbols: tuple[str, ...], timeframe: str) -> MarketData:
        """Every cached candle of ``symbols`` at ``timeframe`` (kept in a small in-memory LRU)."""
        key = (symbols, timeframe)
        with self._market_lock:
            md = self._markets.get(key)
            if md is not None:
                self._markets.move_to_end(key)
                return md
        from tradeready_gym.data import load_market_data

        md = load_market_data(list(symbols), timeframe, data_dir=self.settings.data_dir)
        with self._market_lock:
            self._markets[key] = md
            while len(self._markets) > 8:
                self._markets.popitem(last=False)
        return md

    # ------------------------------------------------------------------ lookup
    def _get(self, account_id: int, session_id: str) -> Session:
        with self._lock:
            s = self._sessions.get(session_id)
            if s is not None and s.account_id == account_id:
                self._sessions.move_to_end(session_id)
                s.last_used = time.monotonic()
                return s
        status = self._mark_lost(account_id, session_id) if s is None else None
        if status is not None:
            raise ApiError(
                409,
                "BACKTEST_INVALID_STATE",
                f"session {session_id} is {status}; it can be read but no longer changed",
            )
        raise ApiError(404, "BACKTEST_NOT_FOUND", f"backtest session {session_id!r} not found")

    def _row(self, account_id: int, session_id: str) -> BacktestSession:
        with self.db.session() as db:
            row = db.get(BacktestSession, session_id)
            if row is None or row.account_id != account_id:
                raise ApiError(404, "BACKTEST_NOT_FOUND", f"backtest session {session_id!r} not found")
            db.expunge(row)
            return row

    def _mark_lost(self, account_id: int, session_id: str) -> str | None:
        """The stored status of a session this process does not hold (None: no such session).

        A session the database lists as open is one a restarted server lost: it becomes ``failed``.
        """
        with self.db.session() as db:
            row = db.get(BacktestSession, session_id)
            if row is None or row.account_id != account_id:
                return None
            if row.status in _OPEN:
                row.status = "failed"
                row.error = "the server restarted while the session was open"
                row.completed_at = utcnow()
            return row.status

    # ------------------------------------------------------------------ create / start
    def create(self, account_id: int, key_id: int | None, body: dict[str, Any]) -> dict[str, Any]:
        """Create a session (status ``created``); see the module docstring for the clock."""
        from tradeready_gym.envs.feed import DataFeed
        from tradeready_gym.envs.portfolio import engine_config

        tf = INTERVAL_SECONDS[int(body["candle_interval"])]
        pairs = tuple(body["pairs"])
        start_ns = parse_time(body["start_time"], param="start_time")
        end_ns = parse_time(body["end_time"], param="end_time")
        interval = TIMEFRAMES[tf]
        try:
            full = self.full_market(pairs, tf)
        except (DataNotFoundError, DataError, ConfigError) as exc:
            raise ApiError(400, "BACKTEST_NO_DATA", f"no candles for pairs={list(pairs)} at {tf}: {exc}") from exc
        if full.n_bars == 0 or int(full.open_time[0]) > start_ns:
            first = "none" if full.n_bars == 0 else format_iso(int(full.open_time[0]))
            raise ApiError(
                400,
                "BACKTEST_NO_DATA",
                f"start_time={body['start_time']!r} is before the earliest candle of {list(pairs)} {tf} ({first})",
            )
        i0 = max(full.index_of(start_ns) - self.settings.max_candles, 0)
        i1 = full.index_of(end_ns)
        market = full.iloc(i0, i1)
        try:
            feed = DataFeed(market, start_time=start_ns, end_time=end_ns)
        except (DataNotFoundError, ConfigError) as exc:
            raise ApiError(400, "BACKTEST_NO_DATA", str(exc)) from exc
        if int(market.open_time[feed.start_index]) - start_ns >= interval * 2:
            raise ApiError(
                400,
                "BACKTEST_NO_DATA",
                f"no candle of {list(pairs)} {tf} at start_time={body['start_time']!r} "
                f"(the next one opens at {format_iso(int(market.open_time[feed.start_index]))})",
            )
        cfg = engine_config(
            starting_balance=float(body["starting_balance"]),
            fee_rate=float(body["fee_rate"]) if body.get("fee_rate") is not None else 0.001,
        )
        engine = Engine(market, cfg)
        engine.reset(feed.start_index)
        sid = str(uuid.uuid4())
        config = {
            "start_time": format_iso(start_ns),
            "end_time": format_iso(end_ns),
            "starting_balance": dec(cfg.starting_balance),
            "candle_interval": int(body["candle_interval"]),
            "timeframe": tf,
            "pairs": list(pairs),
            "strategy_label": body.get("strategy_label") or "",
            "fee_rate": dec(cfg.fee_rate),
            "agent_id": body.get("agent_id"),
            "exchange": body.get("exchange") or "binance",
            "first_decision_time": format_iso(int(market.open_time[feed.start_index]) + interval),
        }
        total = feed.end_index - feed.start_index
        sess = Session(
            id=sid,
            account_id=account_id,
            key_id=key_id,
            config=config,
            market=market,
            engine=engine,
            start_index=feed.start_index,
            end_index=feed.end_index,
            total_steps=total,
            queued=np.zeros(len(pairs), dtype=np.float64),
        )
        sess.eq_bars.append(feed.start_index)
        sess.eq_values.append(float(engine.equity[0]))
        with self.db.session() as db:
            db.add(
                BacktestSession(
                    id=sid,
                    account_id=account_id,
                    api_key_id=key_id,
                    status="created",
                    config=config,
                    total_steps=total,
                    current_step=0,
                )
            )
        self._admit(sess)
        return {
            "session_id": sid,
            "status": "created",
            "total_steps": total,
            "estimated_pairs": len(pairs),
            "agent_id": body.get("agent_id"),
            "config": config,
        }

    def _admit(self, sess: Session) -> None:
        """Add ``sess`` and enforce the per-key cap and the idle timeout."""
        now = time.monotonic()
        evict: list[Session] = []
        with self._lock:
            mine = [s for s in self._sessions.values() if s.key_id == sess.key_id]
            for s in mine:
                if s.status in _OPEN and now - s.last_used > self.settings.session_idle_s:
                    evict.append(s)
            alive = [s for s in mine if s not in evict]
            excess = len(alive) + 1 - self.settings.max_sessions_per_key
            if excess > 0:
                finished = [s for s in alive if s.status not in _OPEN]
                opened = [s for s in alive if s.status in _OPEN]
                evict.extend((finished + opened)[:excess])  # both in least-recently-used order
            for s in evict:
                self._sessions.pop(s.id, None)
            self._sessions[sess.id] = sess
        for s in evict:
            with s.lock:
                if s.status not in _OPEN:
                    continue
                s.status = "cancelled"
                s.results = self._results(s, "cancelled")
            self._store(s, "cancelled")
            log.info("session %s cancelled (per-key cap or idle)", s.id)

    def start(self, account_id: int, session_id: str) -> dict[str, Any]:
        sess = self._get(account_id, session_id)
        with sess.lock:
            if sess.status != "created":
                raise ApiError(
                    409,
                    "BACKTEST_INVALID_STATE",
                    f"session {session_id} is {sess.status}; allowed: start a session in state 'created'",
                )
            sess.status = "running"
            sess.started_wall = time.monotonic()
        with self.db.session() as db:  # outside the lock: the event loop may be waiting for it
            row = db.get(BacktestSession, session_id)
            if row is not None and row.status == "created":
                row.status = "running"
                row.started_at = utcnow()
        return {"status": "running", "session_id": session_id}

    # ------------------------------------------------------------------ orders
    def place_order(self, account_id: int, session_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Queue a market order (filled by the next step) or place a pending engine order."""
        return self.order_in_memory(self._get(account_id, session_id), body)

    def order_in_memory(self, sess: Session, body: dict[str, Any]) -> dict[str, Any]:
        """`place_order` on a session already looked up (no database access)."""
        session_id = sess.id
        with sess.lock:
            if sess.status != "running":
                raise ApiError(
                    409,
                    "BACKTEST_INVALID_STATE",
                    f"session {session_id} is {sess.status}; allowed: orders on a running session",
                )
            sym = body["symbol"]
            if sym not in sess.symbols:
                raise ApiError(
                    400, "INVALID_SYMBOL", f"symbol={sym!r} is not allowed; allowed: {', '.join(sess.symbols)}"
                )
            j = sess.symbols.index(sym)
            side = body["side"]
            kind = body.get("type", "market")
            qty = float(Decimal(str(body["quantity"])))
            eng = sess.engine
            if side == "sell":
                avail = float(eng.qty[0, j] - eng.reserved_qty[0, j]) + min(float(sess.queued[j]), 0.0)
                if avail <= 0.0:
                    raise ApiError(
                        400,
                        "INSUFFICIENT_BALANCE",
                        f"sell of {sym} refused: nothing held (holding {dec(eng.qty[0, j])}); "
                        "short sales are not allowed",
                        {"symbol": sym, "available": dec(max(avail, 0.0)), "requested": dec(qty)},
                    )
            elif float(eng.cash[0] - eng.reserved_cash[0]) <= 0.0:
                raise ApiError(
                    400,
                    "INSUFFICIENT_BALANCE",
                    f"buy of {sym} refused: no cash available",
                    {"symbol": sym, "available": "0.0", "requested": dec(qty)},
                )
            rec = OrderRecord(
                order_id=str(uuid.uuid4()),
                symbol=sym,
                side=side,
                type=kind,
                quantity=qty,
                price=None if body.get("price") is None else float(Decimal(str(body["price"]))),
                status="pending",
                created_step=sess.step,
            )
            if kind == "market":
                sess.queued[j] += qty if side == "buy" else -qty
                sess.queued_orders.append(rec)
            else:
                if rec.price is None:
                    raise ApiError(400, "INVALID_ORDER", f"type={kind!r} needs a price")
                try:
                    eid = eng.place_order(0, sym, side, kind, qty, rec.price)
                except InvalidOrderError as exc:
                    raise ApiError(400, "INVALID_ORDER", str(exc)) from exc
                sess.pending[eid] = rec
            sess.orders.append(rec)
            return {
                "order_id": rec.order_id,
                "status": "pending",
                "symbol": sym,
                "side": side,
                "type": kind,
                "quantity": dec(qty),
                "executed_price": None,
                "executed_qty": None,
                "fee": None,
                "realized_pnl": None,
            }

    def cancel_order(self, account_id: int, session_id: str, order_id: str) -> dict[str, Any]:
        sess = self._get(account_id, session_id)
        with sess.lock:
            for rec in sess.orders:
                if rec.order_id == order_id and rec.status == "pending":
                    if rec in sess.queued_orders:
                        j = sess.symbols.index(rec.symbol)
                        sess.queued[j] -= rec.quantity if rec.side == "buy" else -rec.quantity
                        sess.queued_orders.remove(rec)
                    else:
                        for eid, r in list(sess.pending.items()):
                            if r is rec:
                                sess.engine.cancel_order(0, eid)
                                del sess.pending[eid]
                    rec.status = "cancelled"
                    return rec.public()
        raise ApiError(404, "ORDER_NOT_FOUND", f"no pending order {order_id!r} in session {session_id}")

    def orders(self, account_id: int, session_id: str, status: str | None = None) -> dict[str, Any]:
        sess = self._get_or_none(account_id, session_id)
        if sess is None:
            row = self._row(account_id, session_id)
            items = list((row.results or {}).get("orders", []))
        else:
            with sess.lock:
                items = [o.public() for o in sess.orders]
        if status:
            items = [o for o in items if o["status"] == status]
        return {"session_id": session_id, "orders": items, "count": len(items)}

    def _get_or_none(self, account_id: int, session_id: str) -> Session | None:
        try:
            return self._get(account_id, session_id)
        except ApiError:
            return None

    # ------------------------------------------------------------------ stepping
    def _step_once(self, sess: Session) -> None:
        """One engine step with the queued orders; fills recorded; completes at the last bar."""
        eng = sess.engine
        queued = sess.queued
        has_orders = bool(sess.queued_orders)
        eng.step(queued if has_orders else None)
        sess.step += 1
        t = int(eng.t[0])
        sess.eq_bars.append(t)
        sess.eq_values.append(float(eng.equity[0]))
        if eng.step_fill_count[0] > 0 or has_orders:
            self._record_fills(sess)
        if has_orders:
            queued[:] = 0.0
            sess.queued_orders.clear()
        if t >= sess.end_index:
            sess.status = "completed"

    def _record_fills(self, sess: Session) -> None:
        by_symbol: dict[str, list[OrderRecord]] = {}
        for rec in sess.queued_orders:
            by_symbol.setdefault(rec.symbol, []).append(rec)
        for f in sess.engine.last_fills(0):
            if f.order_id is not None and f.order_id in sess.pending:
                recs = [sess.pending.pop(f.order_id)]
            elif f.kind == "market":
                recs = by_symbol.pop(f.symbol, [])
            else:
                recs = []
            for rec in recs:
                rec.status = "filled"
                rec.executed_price = f.price
                rec.executed_qty = f.quantity
                rec.fee = f.fee
                rec.filled_step = sess.step
            oid = recs[-1].order_id if recs else None
            fill = {
                "order_id": oid,
                "symbol": f.symbol,
                "side": f.side,
                "type": f.kind,
                "status": "filled",
                "executed_price": dec(f.price),
                "executed_qty": dec(f.quantity),
                "fee": dec(f.fee),
                "time": format_iso(f.time),
                "step": sess.step,
            }
            sess.fills_since_step.append(fill)
            sess.trades.append(fill)
        for recs in by_symbol.values():  # queued market orders that did not fill (netted or clipped to 0)
            for rec in recs:
                rec.status = "rejected"
                rec.filled_step = sess.step

    def _check_running(self, sess: Session) -> None:
        if sess.status != "running":
            raise ApiError(
                409,
                "BACKTEST_INVALID_STATE",
                f"session {sess.id} is {sess.status}; allowed: step a running session",
            )

    def peek(self, account_id: int, session_id: str) -> Session | None:
        """The caller's in-memory session, or None (no database access; for the routers' fast path)."""
        s = self._sessions.get(session_id)
        if s is None or s.account_id != account_id:
            return None
        s.last_used = time.monotonic()
        return s

    def step(self, account_id: int, session_id: str) -> dict[str, Any]:
        """Advance one bar; the response of PLATFORM-API §2.2 with the fixes of §3."""
        out, finish = self.step_in_memory(self._get(account_id, session_id))
        if finish is not None:
            finish()
        return out

    def step_in_memory(self, sess: Session, steps: int | None = None) -> tuple[dict[str, Any], Any]:
        """Step ``sess`` once (``steps=None``) or up to ``steps`` bars, touching no database.

        Returns ``(response, finish)``: ``finish`` is None, or a callable that stores the results of a
        session this call completed (run it before answering).
        """
        with sess.lock:
            self._check_running(sess)
            if steps is None:
                self._step_once(sess)
            else:
                done = self._step_many(sess, steps)
            fills = sess.fills_since_step
            sess.fills_since_step = []
            out = sess.step_response(fills)
            if steps is not None:
                out["steps_executed"] = done
            if sess.status == "completed":
                sess.results = self._results(sess, "completed")
                return out, lambda: self._store(sess, "completed")
            return out, None

    def _step_many(self, sess: Session, steps: int) -> int:
        """Up to ``steps`` steps: the first with the queued orders, the rest in a tight loop."""
        if steps <= 0:
            return 0
        self._step_once(sess)
        eng = sess.engine
        t = eng.t
        n = min(steps - 1, sess.end_index - int(t[0]))
        if n <= 0:
            return 1
        # the engine advances in one compiled call until a pending order fills (its fills are then
        # recorded exactly as after a single step) or the bars run out
        values = sess.eq_values
        t0 = int(t[0])
        left = n
        while left > 0:
            curve = np.empty((1, left))
            k = int(eng.advance(left, equity_out=curve)[0])
            if k == 0:
                break
            values.extend(curve[0, :k].tolist())
            left -= k
            if eng.step_fill_count[0]:  # a pending limit / stop order filled in the last bar
                sess.step = int(t[0]) - sess.start_index
                self._record_fills(sess)
        n -= left
        sess.eq_bars.extend(range(t0 + 1, t0 + n + 1))
        sess.step = int(t[0]) - sess.start_index
        if int(t[0]) >= sess.end_index:
            sess.status = "completed"
        return n + 1

    def step_batch(self, account_id: int, session_id: str, steps: int) -> dict[str, Any]:
        """Advance up to ``steps`` bars (stopping at the end); queued orders fill on the first one."""
        out, finish = self.step_in_memory(self._get(account_id, session_id), steps)
        if finish is not None:
            finish()
        return out

    def cancel(self, account_id: int, session_id: str) -> dict[str, Any]:
        sess = self._get(account_id, session_id)
        with sess.lock:
            if sess.status not in _OPEN:
                raise ApiError(
                    409,
                    "BACKTEST_INVALID_STATE",
                    f"session {session_id} is {sess.status}; allowed: cancel a created or running session",
                )
            sess.status = "cancelled"
            sess.results = self._results(sess, "cancelled")
            step = sess.step
        self._store(sess, "cancelled")  # outside the lock: the event loop may be waiting for it
        return {"session_id": session_id, "status": "cancelled", "step": step}

    # ------------------------------------------------------------------ results
    def _store(self, sess: Session, status: str) -> None:
        """Write the session's row: status, progress and results."""
        with self.db.session() as db:
            row = db.get(BacktestSession, sess.id)
            if row is not None:
                row.status = status
                row.current_step = sess.step
                row.completed_at = utcnow()
                row.final_time = sess.virtual_time()
                row.results = sess.results

    def _results(self, sess: Session, status: str) -> dict[str, Any]:
        eng = sess.engine
        m = eng.metrics(0)
        start = eng.config.starting_balance
        final = float(eng.equity[0])
        sells = [t for t in sess.trades if t["side"] == "sell"]
        days = sess.step * sess.interval_ns / 86_400e9
        total_trades = len(sess.trades)
        summary = {
            "final_equity": dec(final),
            "total_pnl": dec(final - start),
            "roi_pct": f"{m.roi_pct:.2f}",
            "total_trades": total_trades,
            "total_fees": dec(eng.fees_paid[0]),
            "duration_real_sec": None
            if sess.started_wall is None
            else round(time.monotonic() - sess.started_wall, 3),
        }
        metrics = {
            "sharpe_ratio": _dec_or_none(m.sharpe),
            "sortino_ratio": _dec_or_none(m.sortino),
            "max_drawdown_pct": _dec_or_none(m.max_drawdown_pct),
            "max_drawdown_duration_days": None,
            "win_rate": _dec_or_none(m.win_rate),
            "profit_factor": _dec_or_none(m.profit_factor),
            "avg_win": None,
            "avg_loss": None,
            "best_trade": None,
            "worst_trade": None,
            "avg_trade_duration_minutes": None,
            "trades_per_day": None if days <= 0 else dec(total_trades / days),
            "exposure_pct": _dec_or_none(m.exposure_pct),
            "buy_and_hold_roi_pct": _dec_or_none(m.buy_and_hold_roi_pct),
        }
        by_pair = []
        for j, sym in enumerate(sess.symbols):
            mine = [t for t in sess.trades if t["symbol"] == sym]
            by_pair.append(
                {
                    "symbol": sym,
                    "trades": len(mine),
                    "sells": sum(1 for t in sells if t["symbol"] == sym),
                    "fees": dec(sum(float(t["fee"]) for t in mine)),
                    "final_quantity": dec(eng.qty[0, j]),
                }
            )
        times = sess.market.open_time
        return {
            "session_id": sess.id,
            "status": status,
            "config": sess.config,
            "summary": summary,
            "metrics": metrics,
            "by_pair": by_pair,
            # the keys the original tracker reads at the top level (PLATFORM-API §3 #3)
            "roi_pct": _num(m.roi_pct),
            "sharpe_ratio": _num(m.sharpe),
            "sortino_ratio": _num(m.sortino),
            "max_drawdown_pct": _num(m.max_drawdown_pct),
            "total_trades": total_trades,
            "win_rate": _num(m.win_rate),
            "final_equity": final,
            "reward_sum": None,
            "steps": sess.step,
            "total_steps": sess.total_steps,
            "equity_curve": {
                "times": _close_seconds(times, sess.eq_bars, sess.interval_ns),
                "equity": list(sess.eq_values),
            },
            "trades": list(sess.trades),
            "orders": [o.public() for o in sess.orders],
        }

    def _stored_results(self, account_id: int, session_id: str) -> dict[str, Any]:
        sess = self._get_or_none(account_id, session_id)
        if sess is not None:
            with sess.lock:
                if sess.results is not None:
                    return sess.results
                status = sess.status
        else:
            row = self._row(account_id, session_id)
            if row.results is not None:
                return row.results
            status = row.status
        raise ApiError(
            409,
            "BACKTEST_INVALID_STATE",
            f"session {session_id} is {status}; results exist once it is completed or cancelled",
        )

    def results(self, account_id: int, session_id: str) -> dict[str, Any]:
        res = self._stored_results(account_id, session_id)
        return {k: v for k, v in res.items() if k not in ("equity_curve", "trades", "orders")}

    def equity_curve(self, account_id: int, session_id: str) -> dict[str, Any]:
        sess = self._get_or_none(account_id, session_id)
        if sess is not None and sess.results is None:
            with sess.lock:
                times = sess.market.open_time
                secs = _close_seconds(times, sess.eq_bars, sess.interval_ns)
                values = list(sess.eq_values)
        else:
            curve = self._stored_results(account_id, session_id)["equity_curve"]
            secs, values = curve["times"], curve["equity"]
        points = [{"time": format_iso(s * 1_000_000_000), "equity": dec(v)} for s, v in zip(secs, values, strict=True)]
        return {"session_id": session_id, "points": points, "count": len(points)}

    def trades(self, account_id: int, session_id: str) -> dict[str, Any]:
        sess = self._get_or_none(account_id, session_id)
        if sess is not None:
            with sess.lock:
                items = list(sess.trades)
        else:
            items = list(self._stored_results(account_id, session_id).get("trades", []))
        return {"session_id": session_id, "trades": items, "count": len(items)}

    def status(self, account_id: int, session_id: str) -> dict[str, Any]:
        sess = self._get_or_none(account_id, session_id)
        if sess is not None:
            with sess.lock:
                return {
                    "session_id": session_id,
                    "status": sess.status,
                    "step": sess.step,
                    "total_steps": sess.total_steps,
                    "progress_pct": f"{100.0 * sess.step / sess.total_steps:.2f}",
                    "virtual_time": sess.virtual_time(),
                    "total_equity": dec(sess.engine.equity[0]),
                    "config": sess.config,
                }
        row = self._row(account_id, session_id)
        return {
            "session_id": session_id,
            "status": row.status,
            "step": row.current_step,
            "total_steps": row.total_steps,
            "progress_pct": f"{100.0 * row.current_step / max(row.total_steps, 1):.2f}",
            "virtual_time": row.final_time,
            "total_equity": (row.results or {}).get("summary", {}).get("final_equity"),
            "config": row.config,
        }

    def list(self, account_id: int, status: str | None = None, limit: int = 100, offset: int = 0) -> dict[str, Any]:
        with self.db.session() as db:
            q = select(BacktestSession).where(BacktestSession.account_id == account_id)
            if status:
                q = q.where(BacktestSession.status == status)
            q = q.order_by(BacktestSession.created_at.desc(), BacktestSession.id).offset(offset).limit(limit)
            rows = list(db.scalars(q))
            items = [
                {
                    "session_id": r.id,
                    "status": r.status,
                    "strategy_label": r.config.get("strategy_label"),
                    "pairs": r.config.get("pairs"),
                    "candle_interval": r.config.get("candle_interval"),
                    "start_time": r.config.get("start_time"),
                    "end_time": r.config.get("end_time"),
                    "total_steps": r.total_steps,
                    "current_step": r.current_step,
                    "created_at": r.created_at.isoformat().replace("+00:00", "Z"),
                    "roi_pct": (r.results or {}).get("roi_pct"),
                }
                for r in rows
            ]
        with self._lock:
            live = {s.id: s for s in self._sessions.values() if s.account_id == account_id}
        for it in items:  # in-memory progress is newer than the row
            s = live.get(str(it["session_id"]))
            if s is not None:
                it["status"] = s.status
                it["current_step"] = s.step
        return {"sessions": items, "count": len(items)}

    # ------------------------------------------------------------------ market data of a session
    def candles(
        self, account_id: int, session_id: str, symbol: str, interval: str | int, limit: int
    ) -> dict[str, Any]:
        """Up to ``limit`` candles of ``symbol`` closed by the session's virtual time, oldest first."""
        label = interval_label(interval)
        sess = self._get_or_none(account_id, session_id)
        fast = None if sess is None else self.candles_in_memory(sess, symbol, label, limit)
        if fast is not None:
            return fast
        if sess is not None:
            with sess.lock:
                if symbol not in sess.symbols:
                    raise ApiError(
                        400, "INVALID_SYMBOL", f"symbol={symbol!r} is not allowed; allowed: {', '.join(sess.symbols)}"
                    )
                t = int(sess.engine.t[0])
                clock_ns = int(sess.market.open_time[t]) + sess.interval_ns
                if label == sess.config["timeframe"]:
                    j = sess.symbols.index(symbol)
                    lo = max(t + 1 - limit, 0)
                    return candles_payload(sess.market, j, lo, t + 1, symbol, label)
        else:
            row = self._row(account_id, session_id)
            if symbol not in row.config["pairs"]:
                raise ApiError(
                    400, "INVALID_SYMBOL", f"symbol={symbol!r} is not allowed; allowed: {', '.join(row.config['pairs'])}"
                )
            clock_ns = parse_time(row.final_time or row.config["first_decision_time"])
        return self.candles_until(symbol, label, clock_ns, limit)

    def candles_in_memory(self, sess: Session, symbol: str, label: str, limit: int) -> dict[str, Any] | None:
        """Candles at the session's own interval from its memory; None when another path is needed."""
        if label != sess.config["timeframe"] or symbol not in sess.symbols:
            return None
        with sess.lock:
            t = int(sess.engine.t[0])
            return candles_payload(sess.market, sess.symbols.index(symbol), max(t + 1 - limit, 0), t + 1, symbol, label)

    def candles_until(self, symbol: str, label: str, clock_ns: int, limit: int) -> dict[str, Any]:
        """Up to ``limit`` cached candles of ``symbol`` at ``label`` that closed by ``clock_ns``."""
        try:
            md = self.full_market((symbol,), label)
        except (DataNotFoundError, DataError, ConfigError) as exc:
            raise ApiError(400, "NO_DATA", f"no candles for {symbol} {label}: {exc}") from exc
        hi = int(np.searchsorted(md.open_time, clock_ns - md.interval_ns, side="right"))
        return candles_payload(md, 0, max(hi - limit, 0), hi, symbol, label)

    def prices(self, account_id: int, session_id: str) -> dict[str, Any]:
        sess = self._get_or_none(account_id, session_id)
        if sess is not None:
            with sess.lock:
                return {"session_id": session_id, "virtual_time": sess.virtual_time(), "prices": sess.prices()}
        row = self._row(account_id, session_id)
        clock_ns = parse_time(row.final_time or row.config["first_decision_time"])
        label = row.config["timeframe"]
        out = {}
        for sym in row.config["pairs"]:
            c = self.candles_until(sym, label, clock_ns, 1)["candles"]
            if c:
                out[sym] = c[-1]["close"]
        return {"session_id": session_id, "virtual_time": format_iso(clock_ns), "prices": out}


def candles_payload(md: MarketData, j: int, lo: int, hi: int, symbol: str, label: str) -> dict[str, Any]:
    """Rows ``lo:hi`` of column ``j`` in the original's candle format (decimal strings)."""
    ot = md.open_time
    trades = md.extra.get("trades")
    candles = [
        {
            "bucket": format_iso(int(ot[i])),
            "time": format_iso(int(ot[i])),
            "open": dec(md.open[i, j]),
            "high": dec(md.high[i, j]),
            "low": dec(md.low[i, j]),
            "close": dec(md.close[i, j]),
            "volume": dec(md.volume[i, j]),
            "trade_count": 0 if trades is None or not math.isfinite(trades[i, j]) else int(trades[i, j]),
        }
        for i in range(lo, hi)
    ]
    return {"symbol": symbol, "interval": label, "candles": candles, "count": len(candles)}

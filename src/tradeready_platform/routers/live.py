"""Live-env endpoints of the original client (PLATFORM-API §2.4): a paper account per API key.

* ``GET /api/v1/account/portfolio`` (authenticated): the paper account, decimal strings, as the
  original ``LiveTradingEnv`` client reads it.
* ``POST /api/v1/trade/order`` ``{symbol, side, type: "market", quantity}`` (authenticated): fills at
  once at the latest cached close of the symbol with the engine's default costs (0.1% fee); answers
  **201** with the order. A buy beyond the cash (fee included) or a sell beyond the holding is
  refused with 400 ``INSUFFICIENT_BALANCE`` (the account is unchanged); an unknown symbol or a bad
  quantity with 400; no price with 503 ``PRICE_NOT_AVAILABLE``.

``/api/v1/market/price`` and ``/candles`` (public) are served by the market router. The server has
no exchange connection: "latest" is the newest candle of the server's cache at the finest cached
timeframe (1m, 5m, 15m, 30m, 1h, 4h, 1d). Paper accounts start at 10,000 USDT and are stored in
SQLite at ``<settings.home>/live-paper.sqlite`` (one row per API key, written in one transaction per
order): each key of an account trades its own paper account, so two agents of one user never share
a balance.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from tradeready_platform.deps import Backtests, Caller
from tradeready_platform.errors import ApiError
from tradeready_platform.routers.common import ERRORS
from tradeready_platform.schemas import SYMBOL_RE

__all__ = ["FEE_RATE", "STARTING_BALANCE", "PaperAccounts", "router"]

router = APIRouter(tags=["live"])

STARTING_BALANCE = 10_000.0
FEE_RATE = 0.001
_LABELS = ("1m", "5m", "15m", "30m", "1h", "4h", "1d")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


def _dec(x: float) -> str:
    return f"{x:.8f}"


class PaperAccounts:
    """Paper accounts (cash, positions, realised PnL) by API key id, in SQLite."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS paper_accounts (key_id INTEGER PRIMARY KEY, state TEXT NOT NULL)")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS paper_orders (id TEXT PRIMARY KEY, key_id INTEGER NOT NULL, "
            "body TEXT NOT NULL, created_at TEXT NOT NULL)"
        )
        self._lock = threading.Lock()

    def get(self, key_id: int) -> dict[str, Any]:
        """The paper account of API key ``key_id`` (a new one holds the starting balance)."""
        row = self._db.execute("SELECT state FROM paper_accounts WHERE key_id=?", (key_id,)).fetchone()
        if row is None:
            return {"cash": STARTING_BALANCE, "starting_balance": STARTING_BALANCE, "realized_pnl": 0.0,
                    "fees": 0.0, "positions": {}}
        return json.loads(row[0])  # type: ignore[no-any-return]

    def order(self, key_id: int, symbol: str, side: str, qty: float, price: float) -> dict[str, Any]:
        """Fill a market order at ``price`` (spot rules); returns the order (raises ApiError, nothing changed)."""
        with self._lock:
            st = self.get(key_id)
            pos = st["positions"].get(symbol, {"quantity": 0.0, "avg_entry_price": 0.0, "opened_at": None})
            notional = qty * price
            fee = notional * FEE_RATE
            if side == "buy":
                if notional + fee > st["cash"] + 1e-9:
                    raise ApiError(400, "INSUFFICIENT_BALANCE",
                                   f"buying {qty} {symbol} at {price} costs {notional + fee:.8f} USDT with fees; "
                                   f"available {st['cash']:.8f}")
                new_qty = pos["quantity"] + qty
                pos["avg_entry_price"] = (pos["quantity"] * pos["avg_entry_price"] + notional) / new_qty
                pos["quantity"] = new_qty
                pos["opened_at"] = pos["opened_at"] or _now()
                st["cash"] -= notional + fee
            else:
                if qty > pos["quantity"] + 1e-12:
                    raise ApiError(400, "INSUFFICIENT_BALANCE",
                                   f"selling {qty} {symbol} but the account holds {pos['quantity']}")
                st["realized_pnl"] += (price - pos["avg_entry_price"]) * qty
                pos["quantity"] -= qty
                st["cash"] += notional - fee
            st["fees"] += fee
            if pos["quantity"] <= 1e-15:
                st["positions"].pop(symbol, None)
            else:
                st["positions"][symbol] = pos
            order = {
                "order_id": str(uuid.uuid4()), "status": "filled", "symbol": symbol, "side": side, "type": "market",
                "quantity": _dec(qty), "executed_price": _dec(price), "executed_qty": _dec(qty), "fee": _dec(fee),
                "total_cost": _dec(notional + fee if side == "buy" else notional - fee), "filled_at": _now(),
            }
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("INSERT OR REPLACE INTO paper_accounts VALUES (?, ?)", (key_id, json.dumps(st)))
                db.execute("INSERT INTO paper_orders VALUES (?, ?, ?, ?)",
                           (order["order_id"], key_id, json.dumps(order), order["filled_at"]))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return order


def _accounts(request: Request) -> PaperAccounts:
    state = request.app.state
    svc = getattr(state, "live_paper", None)
    if svc is None:
        svc = PaperAccounts(Path(state.settings.home) / "live-paper.sqlite")
        state.live_paper = svc
    return svc  # type: ignore[no-any-return]


def _price(backtests: Any, symbol: str) -> float:
    if not SYMBOL_RE.match(symbol):
        raise ApiError(400, "INVALID_SYMBOL", f"symbol={symbol!r} is not allowed; allowed: e.g. 'BTCUSDT'")
    for label in _LABELS:
        try:
            c = backtests.candles_until(symbol, label, 2**62, 1)["candles"]
        except ApiError:
            continue
        if c:
            return float(c[-1]["close"])
    raise ApiError(503, "PRICE_NOT_AVAILABLE", f"no cached candles of {symbol} to price it")


class OrderCreate(BaseModel):
    """``POST /api/v1/trade/order`` body (the original client sends quantity as a decimal string)."""

    symbol: str = Field(max_length=30)
    side: str
    type: str = "market"
    quantity: Annotated[str | float, Field()]


@router.get("/api/v1/account/portfolio", responses={401: ERRORS[401]})
def portfolio(caller: Caller, backtests: Backtests, request: Request) -> JSONResponse:
    """The calling key's paper account: equity, cash, positions at the latest cached prices."""
    st = _accounts(request).get(caller[1])
    positions = []
    pos_value = upnl = 0.0
    for sym, p in sorted(st["positions"].items()):
        price = _price(backtests, sym)
        value = p["quantity"] * price
        pnl = (price - p["avg_entry_price"]) * p["quantity"]
        cost = p["avg_entry_price"] * p["quantity"]
        pos_value += value
        upnl += pnl
        positions.append({
            "symbol": sym, "asset": sym[:-4] if sym.endswith("USDT") else sym, "quantity": _dec(p["quantity"]),
            "avg_entry_price": _dec(p["avg_entry_price"]), "current_price": _dec(price), "market_value": _dec(value),
            "unrealized_pnl": _dec(pnl), "unrealized_pnl_pct": _dec(100 * pnl / cost if cost > 0 else 0.0),
            "opened_at": p["opened_at"],
        })
    equity = st["cash"] + pos_value
    start = st["starting_balance"]
    return JSONResponse({
        "total_equity": _dec(equity), "available_cash": _dec(st["cash"]), "locked_cash": _dec(0.0),
        "total_position_value": _dec(pos_value), "unrealized_pnl": _dec(upnl), "realized_pnl": _dec(st["realized_pnl"]),
        "total_pnl": _dec(equity - start), "roi_pct": _dec(100 * (equity / start - 1)), "starting_balance": _dec(start),
        "positions": positions, "timestamp": _now(),
    })


@router.post("/api/v1/trade/order", status_code=201,
             responses={400: ERRORS[400], 401: ERRORS[401], 429: ERRORS[429]})
def trade_order(body: OrderCreate, caller: Caller, backtests: Backtests, request: Request) -> JSONResponse:
    """A market order on the caller's paper account, filled at the latest cached close (201)."""
    side = body.side.lower()
    if side not in ("buy", "sell"):
        raise ApiError(400, "VALIDATION_ERROR", f"side={body.side!r} is not allowed; allowed: buy, sell")
    if body.type.lower() != "market":
        raise ApiError(400, "VALIDATION_ERROR", f"type={body.type!r} is not allowed; allowed: market")
    try:
        qty = float(body.quantity)
    except (TypeError, ValueError):
        qty = math.nan
    if not (math.isfinite(qty) and qty > 0):
        raise ApiError(400, "INVALID_QUANTITY", f"quantity={body.quantity!r} is not allowed; allowed: a number > 0")
    price = _price(backtests, body.symbol)
    order = _accounts(request).order(caller[1], body.symbol, side, qty, price)
    return JSONResponse(order, status_code=201)

"""`Engine`: N independent trading accounts stepped together over one `MarketData`.

Every account has its own clock ``t`` (a bar index): the decision is made at the close of bar ``t``
and may see bars ``0..t`` only (`Engine.window`, `Engine.clock_close`). `Engine.step` then

1. fills the market orders decided at ``t`` at ``open[t+1]`` (``fill="next_open"``) or ``close[t]``
   (``fill="close"``), sells before buys, with spread, slippage and fee;
2. checks pending limit / stop-loss / take-profit orders against bar ``t+1`` (stop-losses first);
3. charges borrow cost and liquidates if needed (margin mode), marks equity at ``close[t+1]`` and
   updates the running episode statistics; ``t`` becomes ``t+1``.

All of it runs in one compiled kernel over arrays with the account index first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tradeready_gym.data.market import MarketData
from tradeready_gym.engine import _kernel as K
from tradeready_gym.engine.config import EngineConfig
from tradeready_gym.engine.metrics import EpisodeMetrics, metrics_row, metrics_table, periods_per_year
from tradeready_gym.errors import ConfigError, DataError, InvalidOrderError

__all__ = ["FILL_KINDS", "ORDER_KINDS", "Engine", "Fill", "Order", "Window", "decode_fill_row"]

FILL_KINDS = {
    K.K_MARKET: "market",
    K.K_LIMIT: "limit",
    K.K_STOP: "stop_loss",
    K.K_TAKE_PROFIT: "take_profit",
    K.K_LIQUIDATION: "liquidation",
}
ORDER_KINDS = {"limit": K.K_LIMIT, "stop_loss": K.K_STOP, "stop": K.K_STOP, "take_profit": K.K_TAKE_PROFIT}


@dataclass(frozen=True)
class Fill:
    """One executed trade.

    Attributes:
        symbol: e.g. ``"BTCUSDT"``.
        side: ``"buy"`` or ``"sell"``.
        quantity: base quantity, > 0.
        price: fill price including spread and slippage.
        fee: quote-currency fee, exactly ``rate * quantity * price + fixed`` of the fee model
            (``fee_rate * quantity * price`` by default).
        time: int64 ns UTC: the open time of the bar it filled in, or the close time of bar t for
            ``fill="close"`` market orders and liquidations.
        kind: ``"market"``, ``"limit"``, ``"stop_loss"``, ``"take_profit"`` or ``"liquidation"``.
        order_id: id of the pending order that filled, None for market orders and liquidations.
        slippage: quote-currency cost of spread and slippage, ``quantity * |price - reference|``.
    """

    symbol: str
    side: str
    quantity: float
    price: float
    fee: float
    time: int
    kind: str
    order_id: int | None = None
    slippage: float = 0.0


@dataclass(frozen=True)
class Order:
    """A pending limit / stop-loss / take-profit order."""

    order_id: int
    symbol: str
    side: str
    kind: str
    quantity: float
    price: float
    reserved: float


@dataclass(frozen=True)
class Window:
    """Read-only views of the last ``lookback`` bars up to and including an account's clock."""

    open_time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


_F64 = np.dtype(np.float64)
_BOOL = np.dtype(np.bool_)


def _ro(a: np.ndarray) -> np.ndarray:
    v = a.view()
    v.setflags(write=False)
    return v


class Engine:
    """Batched backtesting engine: ``n_accounts`` accounts trading ``market.symbols``.

    Args:
        market: the candles (`MarketData`); at least 2 bars.
        config: an `EngineConfig` (defaults when None).
        n_accounts: number of independent accounts, >= 1.

    State (read-only numpy views, account index first, updated in place by `step` / `reset`):
        ``t`` (N,) int64 clock; ``cash``, ``equity``, ``position_value``, ``unrealized_pnl``,
        ``realized_pnl`` (price PnL of closed quantity, before fees), ``fees_paid``,
        ``reserved_cash`` (N,); ``qty``, ``avg_price``, ``reserved_qty`` (N, S);
        ``step_fill_count`` (N,): fills in each account's last step.

    Example:
        >>> import numpy as np
        >>> from tradeready_gym.data.market import MarketData
        >>> t = np.arange(3, dtype=np.int64) * 3_600_000_000_000
        >>> px = np.array([[100.0], [110.0], [121.0]])
        >>> md = MarketData(("X",), "1h", t, px, px, px, px, px)
        >>> eng = Engine(md, EngineConfig(starting_balance=1_000, fee_rate=0.0))
        >>> eng.reset(0)
        >>> eng.step(np.array([[5.0]]))          # buy 5 at open[1] = 110
        >>> float(eng.cash[0]), float(eng.equity[0])
        (450.0, 1000.0)
        >>> eng.last_fills(0)[0].price
        110.0
    """

    def __init__(
        self,
        market: MarketData,
        config: EngineConfig | None = None,
        n_accounts: int = 1,
    ) -> None:
        if not isinstance(market, MarketData):
            raise ConfigError(f"market={type(market).__name__} is not allowed; allowed: a MarketData")
        if market.n_bars < 2:
            raise ConfigError(f"market has {market.n_bars} bars; allowed: at least 2 bars")
        cfg = EngineConfig() if config is None else config
        if not isinstance(cfg, EngineConfig):
            raise ConfigError(f"config={type(cfg).__name__} is not allowed; allowed: an EngineConfig")
        if isinstance(n_accounts, bool) or not isinstance(n_accounts, int | np.integer) or n_accounts < 1:
            raise ConfigError(f"n_accounts={n_accounts!r} is not allowed; allowed: an integer >= 1")
        self.market = market
        self.config = cfg
        self.symbols: tuple[str, ...] = market.symbols
        self.n_accounts = N = int(n_accounts)
        self.n_symbols = S = market.n_symbols
        self.n_bars = T = market.n_bars
        self.interval_ns = market.interval_ns
        self.periods_per_year = periods_per_year(self.interval_ns)
        self._sym_index = {s: j for j, s in enumerate(self.symbols)}

        # one float64 block holds the market and the state (parameters and every account table),
        # so a compiled step takes few arguments (`kernel_arrays`)
        lay = K.layout(N, S, cfg.max_orders)
        n_mkt = T * S * K.N_MKT
        n_state = int(lay["total"][0])
        self._f64 = np.zeros(n_mkt + n_state, dtype=np.float64)
        mkt = self._f64[:n_mkt].reshape(T, S, K.N_MKT)
        mkt[:, :, K.M_OPEN] = market.open
        mkt[:, :, K.M_HIGH] = market.high
        mkt[:, :, K.M_LOW] = market.low
        mkt[:, :, K.M_CLOSE] = market.close
        qv = market.extra.get("quote_volume")
        mkt[:, :, K.M_QV] = qv if qv is not None else market.volume * market.close
        mkt[:, :, K.M_FILLED] = 0.0 if market.filled is None else market.filled
        mkt.setflags(write=False)
        self._mkt = mkt

        self._state = self._f64[n_mkt : n_mkt + n_state]

        def part(name: str) -> np.ndarray:
            off, shape = lay[name]
            return self._state[off : off + int(np.prod(shape))].reshape(shape)

        self._acct = part("acct")
        self._acct[:, K.A_FEE_RATE] = cfg.fee_rate
        self._pos = part("pos")
        self._orders = part("orders")
        self._fills = part("fills")
        self._clock = np.zeros(N, dtype=np.int64)
        self._all = np.ones(N, dtype=np.bool_)
        # kept writeable (never written): a read-only array would need its own compiled kernel
        self._no_orders = np.zeros((N, S), dtype=np.float64)
        self._no_equity = np.zeros((N, 0), dtype=np.float64)
        self._shape = (N, S)
        self._nshape = (N,)
        # large batches step their accounts on all cores (bit-for-bit the serial results)
        self._kernel = K.step_kernel_parallel if N >= K.PARALLEL_MIN_ACCOUNTS else K.step_kernel

        prm = part("prm")
        prm[K.X_FILL_CLOSE] = 1.0 if cfg.fill == "close" else 0.0
        prm[K.X_MARGIN] = 1.0 if cfg.mode == "margin" else 0.0
        prm[K.X_REJECT] = 1.0 if cfg.on_insufficient == "reject" else 0.0
        kind, bps, impact, exponent, max_bps = cfg.slippage.encode()
        prm[K.X_SLIP_KIND] = kind
        prm[K.X_SLIP_BPS] = bps
        prm[K.X_SLIP_IMPACT] = impact
        prm[K.X_SLIP_EXP] = exponent
        prm[K.X_SLIP_MAX] = max_bps
        prm[K.X_HALF_SPREAD] = cfg.spread_bps * 0.5e-4
        prm[K.X_LEVERAGE] = cfg.leverage
        prm[K.X_MAINT] = cfg.maintenance_margin
        prm[K.X_BORROW_BAR] = cfg.borrow_rate / self.periods_per_year
        prm[K.X_MAX_ORDERS] = cfg.max_orders
        fee_kind, _, fee_maker, fee_fixed = cfg.fee_model.encode()
        prm[K.X_FEE_KIND] = fee_kind
        prm[K.X_FEE_MAKER] = fee_maker
        prm[K.X_FEE_FIXED] = fee_fixed
        self._prm = _ro(prm)
        symtab = part("symtab")
        symtab[:, 0] = cfg.per_symbol("lot_step", S)
        symtab[:, 1] = cfg.per_symbol("min_notional", S)
        self._symtab = _ro(symtab)

        a, p = self._acct, self._pos
        self.t = _ro(self._clock)
        self.cash = _ro(a[:, K.A_CASH])
        self.equity = _ro(a[:, K.A_EQUITY])
        self.position_value = _ro(a[:, K.A_POSVAL])
        self.unrealized_pnl = _ro(a[:, K.A_UPNL])
        self.realized_pnl = _ro(a[:, K.A_REALIZED])
        self.fees_paid = _ro(a[:, K.A_FEES])
        self.reserved_cash = _ro(a[:, K.A_RES_CASH])
        self.fee_rate = _ro(a[:, K.A_FEE_RATE])
        self.step_fill_count = _ro(a[:, K.A_STEP_FILLS])
        self.qty = _ro(p[:, :, K.P_QTY])
        self.avg_price = _ro(p[:, :, K.P_AVG])
        self.reserved_qty = _ro(p[:, :, K.P_RES_QTY])
        #: ``(N, K)`` every account scalar (columns ``A_*`` of `tradeready_gym.engine._kernel`), read-only.
        self.account_table = _ro(a)
        #: ``(N, S, P)`` every position column (``P_*``), read-only.
        self.position_table = _ro(p)
        #: ``(N, M, R)`` the fills of each account's last step (columns ``F_*``; `decode_fill_row`), read-only.
        self.fill_table = _ro(self._fills)
        self._close = market.close
        self.reset(0)

    def kernel_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(mkt, state, clock)``: the arrays a compiled step reads and writes (see `_kernel.step_kernel`).

        ``mkt`` (T, S, 6) read-only market fields; ``state`` the float64 block of parameters and
        account tables (`_kernel.unpack`); ``clock`` (N,) int64. The engine's compiled step and the
        env's fused step both take these; nothing else is written into them.
        """
        return self._mkt, self._state, self._clock

    # ------------------------------------------------------------------ lifecycle
    def reset(self, start: int | np.ndarray = 0, accounts: np.ndarray | None = None) -> None:
        """Start a new episode at bar ``start`` for all accounts (or those where ``accounts`` is true).

        Args:
            start: a bar index, or an ``(N,)`` array of bar indices (random starts per account);
                each in ``[0, n_bars - 2]`` so that at least one step is possible.
            accounts: optional ``(N,)`` bool mask; other accounts keep their state.

        Cash becomes ``starting_balance``; positions, pending orders, fills and statistics are
        cleared. Per-account fee rates set by `set_fee_rate` are kept.
        """
        N = self.n_accounts
        st = np.asarray(start)
        if st.ndim == 0:
            st = np.full(N, st)
        if st.shape != (N,):
            raise ConfigError(
                f"start has shape {st.shape}; allowed: an int or an array of shape ({N},) of bar indices"
            )
        integral = np.issubdtype(st.dtype, np.integer) and st.dtype != np.bool_
        if not integral and not (
            np.issubdtype(st.dtype, np.floating) and np.all(np.isfinite(st)) and np.all(st == np.round(st))
        ):
            raise ConfigError(
                f"start={start!r} is not allowed; allowed: integer bar indices in [0, {self.n_bars - 2}]"
            )
        st = st.astype(np.int64)
        if accounts is None:
            mask = self._all
        else:
            mask = np.asarray(accounts)
            if mask.dtype != np.bool_ or mask.shape != (N,):
                raise ConfigError(
                    f"accounts has dtype {mask.dtype} and shape {mask.shape}; allowed: a bool array of shape ({N},)"
                )
        bad = mask & ((st < 0) | (st > self.n_bars - 2))
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise ConfigError(
                f"start={int(st[j])} (account {j}) is not allowed; allowed: a bar index in [0, {self.n_bars - 2}]"
            )
        K.reset_kernel(
            self._mkt,
            self._acct,
            self._pos,
            self._orders,
            self._clock,
            st,
            mask,
            self.config.starting_balance,
        )

    def set_fee_rate(self, rate: float | np.ndarray, accounts: np.ndarray | None = None) -> None:
        """Set the fee rate (fraction of notional, in [0, 0.1]) of all or the masked accounts."""
        r = np.broadcast_to(np.asarray(rate, dtype=np.float64), (self.n_accounts,))
        bad = ~np.isfinite(r) | (r < 0) | (r > 0.1)
        if bad.any():
            raise ConfigError(f"fee_rate={float(r[bad][0])!r} is not allowed; allowed: a number in [0, 0.1]")
        mask = self._all if accounts is None else np.asarray(accounts, dtype=bool)
        self._acct[mask, K.A_FEE_RATE] = r[mask]

    def step(self, order_qty: np.ndarray | None = None, active: np.ndarray | None = None) -> None:
        """Advance every (active) account by one bar.

        Args:
            order_qty: ``(N, S)`` float64 signed base quantities of market orders (> 0 buy, < 0 sell,
                0 nothing), decided at the close of bar ``t``. ``(S,)`` is accepted when N == 1.
                None places no orders.
            active: optional ``(N,)`` bool mask; inactive accounts are left untouched.

        Raises:
            InvalidOrderError: a quantity is NaN or infinite, or the shape is wrong (nothing changes).
            DataError: an active account is already at the last bar (nothing changes).
        """
        oq = self._no_orders if order_qty is None else order_qty
        if type(oq) is not np.ndarray or oq.dtype is not _F64 or oq.shape != self._shape:
            oq = self._coerce_orders(oq)
        act = self._all if active is None else active
        if act is not self._all and (type(act) is not np.ndarray or act.dtype is not _BOOL or act.shape != self._nshape):
            act = self._coerce_active(act)
        code = self._kernel(self._mkt, self._state, self._clock, oq, act)
        if code:
            self._raise_step(code, oq)

    def advance(
        self, n_bars: int, active: np.ndarray | None = None, equity_out: np.ndarray | None = None
    ) -> np.ndarray:
        """Advance every (active) account by up to ``n_bars`` bars without new market orders, in one
        compiled call.

        Each bar is exactly a `step` with no market orders (the same compiled per-account step).
        An account stops early after a bar in which it had a fill (a pending limit / stop-loss /
        take-profit order triggered, or a liquidation), so `last_fills` and `step_fill_count` then
        report that bar's fills just as after a single `step`; and it stops at the last bar of the
        data (no error: it advances fewer bars). Call it again to go on.

        Args:
            n_bars: the most bars to advance, an integer >= 0.
            active: optional ``(N,)`` bool mask; inactive accounts are left untouched.
            equity_out: optional writeable C-contiguous float64 array of shape ``(N, m)``: column
                ``k`` receives each account's equity after its ``k``-th bar (``k < m``).

        Returns:
            ``(N,)`` int64: the bars each account advanced (0 for inactive accounts and accounts
            already at the last bar).

        Raises:
            ConfigError: ``n_bars``, ``active`` or ``equity_out`` is not allowed (nothing changes).
        """
        if isinstance(n_bars, bool) or not isinstance(n_bars, int | np.integer) or n_bars < 0:
            raise ConfigError(f"n_bars={n_bars!r} is not allowed; allowed: an integer >= 0")
        act = self._all if active is None else active
        if act is not self._all and (type(act) is not np.ndarray or act.dtype is not _BOOL or act.shape != self._nshape):
            act = self._coerce_active(act)
        out = self._no_equity if equity_out is None else equity_out
        if out is not self._no_equity and (
            type(out) is not np.ndarray
            or out.dtype != _F64
            or out.ndim != 2
            or out.shape[0] != self.n_accounts
            or not out.flags.c_contiguous
            or not out.flags.writeable
        ):
            raise ConfigError(
                f"equity_out={type(out).__name__} {getattr(out, 'dtype', '')} {getattr(out, 'shape', '')} is not "
                f"allowed; allowed: a writeable C-contiguous float64 array of shape ({self.n_accounts}, m)"
            )
        done = np.zeros(self.n_accounts, dtype=np.int64)
        K.advance_kernel(self._mkt, self._state, self._clock, self._no_orders, act, int(n_bars), done, out)
        return done

    def _coerce_orders(self, order_qty: Any) -> np.ndarray:
        N, S = self.n_accounts, self.n_symbols
        try:
            a = np.asarray(order_qty, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidOrderError(
                f"order_qty={order_qty!r} is not allowed; allowed: a float array of shape ({N}, {S})"
            ) from None
        if a.shape == (S,) and N == 1:
            a = a.reshape(1, S)
        elif a.shape == (N,) and S == 1:
            a = a.reshape(N, 1)
        if a.shape != (N, S):
            raise InvalidOrderError(f"order_qty has shape {a.shape}; allowed: ({N}, {S}) (accounts, symbols)")
        return np.ascontiguousarray(a)

    def _coerce_active(self, active: Any) -> np.ndarray:
        a = np.asarray(active)
        if a.dtype != np.bool_ or a.shape != (self.n_accounts,):
            raise ConfigError(
                f"active has dtype {a.dtype} and shape {a.shape}; allowed: a bool array of shape ({self.n_accounts},)"
            )
        return np.ascontiguousarray(a)

    def _raise_step(self, code: int, oq: np.ndarray) -> None:
        if code < 0:
            i = -code - 1
            raise DataError(
                f"account {i} is at bar t={int(self._clock[i])}, the last of {self.n_bars} bars; "
                "allowed: step only accounts with t < n_bars - 1 (reset it or pass active=)"
            )
        i, s = divmod(code - 1, self.n_symbols)
        raise InvalidOrderError(
            f"order_qty[{i}, {s}] ({self.symbols[s]}) = {float(oq[i, s])!r} is not allowed; allowed: a finite number "
            "(> 0 buy, < 0 sell)"
        )

    # ------------------------------------------------------------------ visibility
    def clock_close(self) -> np.ndarray:
        """``(N, S)`` close[t] of every account: the latest price a decision may use."""
        return self._close[self._clock]

    def window(self, i: int, lookback: int) -> Window:
        """Read-only views of bars ``t - lookback + 1 .. t`` of account ``i`` (fewer near the start)."""
        self._check_account(i)
        if isinstance(lookback, bool) or not isinstance(lookback, int | np.integer) or lookback < 1:
            raise ConfigError(f"lookback={lookback!r} is not allowed; allowed: an integer >= 1")
        end = int(self._clock[i]) + 1
        sl = slice(max(0, end - int(lookback)), end)
        m = self.market
        return Window(m.open_time[sl], m.open[sl], m.high[sl], m.low[sl], m.close[sl], m.volume[sl])

    def time(self, i: int) -> int:
        """The decision time of account ``i``: close time (ns UTC) of bar ``t``."""
        self._check_account(i)
        return int(self.market.open_time[self._clock[i]]) + self.interval_ns

    def bars_left(self) -> np.ndarray:
        """``(N,)`` number of steps each account can still take."""
        return (self.n_bars - 1) - self._clock

    # ------------------------------------------------------------------ fills and orders
    def last_fills(self, i: int) -> list[Fill]:
        """The fills of account ``i``'s last step, in execution order."""
        self._check_account(i)
        n = int(self._acct[i, K.A_STEP_FILLS])
        out = []
        ot = self.market.open_time
        for row in self._fills[i, :n]:
            s, side, qty, price, fee, kind, bar, at_close, oid, slip = decode_fill_row(row.tolist())
            out.append(
                Fill(
                    symbol=self.symbols[s],
                    side=side,
                    quantity=qty,
                    price=price,
                    fee=fee,
                    time=int(ot[bar]) + (self.interval_ns if at_close else 0),
                    kind=kind,
                    order_id=oid,
                    slippage=slip,
                )
            )
        return out

    def place_order(
        self, i: int, symbol: str | int, side: str, kind: str, quantity: float, price: float
    ) -> int:
        """Place a pending order for account ``i``; it can fill from bar ``t + 1`` on.

        Args:
            i: account index.
            symbol: symbol name or column index.
            side: ``"buy"`` or ``"sell"``.
            kind: ``"limit"`` (fills at the level or better; reserves funds), ``"stop_loss"`` (alias
                ``"stop"``) or ``"take_profit"``. Stop-loss and take-profit orders only reduce a
                position (in spot mode they are sells) and are clipped to it when they fill.
            quantity: base quantity, > 0 (rounded down to the lot step).
            price: trigger / limit level, > 0.

        Returns:
            The order id (> 0), or -1 when a spot limit order cannot reserve any funds
            (``on_insufficient="clip"`` reserves what is available, ``"reject"`` all or nothing).

        Raises:
            InvalidOrderError: bad account, symbol, side, kind, quantity or price, a full order book,
                or a quantity below the lot step / minimum notional.
        """
        self._check_account(i, InvalidOrderError)
        s = self._symbol(symbol)
        if side not in ("buy", "sell"):
            raise InvalidOrderError(f"side={side!r} is not allowed; allowed: 'buy', 'sell'")
        if kind not in ORDER_KINDS:
            raise InvalidOrderError(
                f"kind={kind!r} is not allowed; allowed: {', '.join(map(repr, ORDER_KINDS))}"
            )
        q = _finite(quantity, "quantity")
        p = _finite(price, "price")
        if q <= 0:
            raise InvalidOrderError(f"quantity={quantity!r} is not allowed; allowed: a finite number > 0")
        if p <= 0:
            raise InvalidOrderError(f"price={price!r} is not allowed; allowed: a finite number > 0")
        k = ORDER_KINDS[kind]
        sd = 1.0 if side == "buy" else -1.0
        spot = self.config.mode == "spot"
        if spot and k != K.K_LIMIT and sd > 0:
            raise InvalidOrderError(
                f"side='buy' with kind={kind!r} is not allowed in spot mode; allowed: side='sell' "
                "(stop-loss and take-profit orders close a long position)"
            )
        n = K.count_orders(self._orders, i)
        if n >= self._orders.shape[1]:
            raise InvalidOrderError(
                f"account {i} already has max_orders={self.config.max_orders} pending orders; cancel one first"
            )
        step, min_notional = float(self._symtab[s, 0]), float(self._symtab[s, 1])
        q = _lot(q, step)
        if q <= 0:
            raise InvalidOrderError(f"quantity={quantity!r} is below lot_step={step} of {self.symbols[s]}")
        reserved = 0.0
        a = self._acct
        if spot and k == K.K_LIMIT:
            clip = self.config.on_insufficient == "clip"
            if sd > 0:
                # the fee a limit fill pays (maker rate of a maker/taker model, plus any fixed fee)
                fr = float(self._prm[K.X_FEE_MAKER] if self._prm[K.X_FEE_KIND] == 1 else a[i, K.A_FEE_RATE])
                fx = float(self._prm[K.X_FEE_FIXED])
                avail = float(a[i, K.A_CASH] - a[i, K.A_RES_CASH])
                if q * p * (1 + fr) + fx > avail:
                    if not clip or avail <= fx:
                        return -1
                    q = _lot((avail - fx) / (p * (1 + fr)), step)
                    while q > 0 and q * p + (q * p * fr + fx) > avail:
                        q = float(np.nextafter(q, 0.0)) if step <= 0 else q - step
                    if q <= 0:
                        return -1
                reserved = q * p + (q * p * fr + fx)
            else:
                avail = float(self._pos[i, s, K.P_QTY] - self._pos[i, s, K.P_RES_QTY])
                if q > avail:
                    if not clip or avail <= 0:
                        return -1
                    q = _lot(avail, step)
                    if q <= 0:
                        return -1
                reserved = q
        if q * p < min_notional:
            raise InvalidOrderError(
                f"order notional {q * p!r} ({q} x {p}) is below min_notional={min_notional} of {self.symbols[s]}"
            )
        oid = int(a[i, K.A_NEXT_OID])
        a[i, K.A_NEXT_OID] += 1
        row = self._orders[i, n]
        row[K.O_SYM] = s
        row[K.O_SIDE] = sd
        row[K.O_KIND] = k
        row[K.O_QTY] = q
        row[K.O_PRICE] = p
        row[K.O_ID] = oid
        row[K.O_RESERVED] = reserved
        if reserved > 0:
            if sd > 0:
                a[i, K.A_RES_CASH] += reserved
            else:
                self._pos[i, s, K.P_RES_QTY] += reserved
        return oid

    def cancel_order(self, i: int, order_id: int) -> bool:
        """Cancel a pending order (releasing its reservation); False if no such order is pending."""
        self._check_account(i, InvalidOrderError)
        n = K.count_orders(self._orders, i)
        for k in range(n):
            if int(self._orders[i, k, K.O_ID]) == order_id:
                K._remove_order(self._orders, self._acct, self._pos, i, k, n)
                return True
        return False

    def cancel_all(self, i: int) -> int:
        """Cancel every pending order of account ``i``; returns how many were cancelled."""
        self._check_account(i, InvalidOrderError)
        n = K.count_orders(self._orders, i)
        m = n
        while m > 0:
            m = K._remove_order(self._orders, self._acct, self._pos, i, 0, m)
        return n

    def open_orders(self, i: int) -> list[Order]:
        """The pending orders of account ``i`` in placement order."""
        self._check_account(i)
        inv = {v: k for k, v in ORDER_KINDS.items() if k != "stop"}
        out = []
        for row in self._orders[i, : K.count_orders(self._orders, i)]:
            out.append(
                Order(
                    order_id=int(row[K.O_ID]),
                    symbol=self.symbols[int(row[K.O_SYM])],
                    side="buy" if row[K.O_SIDE] > 0 else "sell",
                    kind=inv[int(row[K.O_KIND])],
                    quantity=float(row[K.O_QTY]),
                    price=float(row[K.O_PRICE]),
                    reserved=float(row[K.O_RESERVED]),
                )
            )
        return out

    # ------------------------------------------------------------------ metrics
    def metrics(self, i: int) -> EpisodeMetrics:
        """Episode metrics of account ``i`` since its last reset (see `tradeready_gym.engine.metrics`)."""
        self._check_account(i)
        tab = metrics_table(self._acct[i : i + 1], self._clock[i : i + 1], self._close, self.interval_ns)
        return metrics_row(tab, 0)

    def metrics_table(self) -> dict[str, np.ndarray]:
        """Every metric for every account as ``(N,)`` arrays."""
        return metrics_table(self._acct, self._clock, self._close, self.interval_ns)

    # ------------------------------------------------------------------ helpers
    def _check_account(self, i: object, err: type[Exception] = ConfigError) -> None:
        if isinstance(i, bool) or not isinstance(i, int | np.integer) or not 0 <= int(i) < self.n_accounts:
            raise err(f"account={i!r} is not allowed; allowed: an integer in [0, {self.n_accounts - 1}]")

    def _symbol(self, symbol: str | int) -> int:
        if isinstance(symbol, str):
            j = self._sym_index.get(symbol)
            if j is None:
                raise InvalidOrderError(
                    f"symbol={symbol!r} is not allowed; allowed: {', '.join(self.symbols)}"
                )
            return j
        if (
            isinstance(symbol, int | np.integer)
            and not isinstance(symbol, bool)
            and 0 <= symbol < self.n_symbols
        ):
            return int(symbol)
        raise InvalidOrderError(
            f"symbol={symbol!r} is not allowed; allowed: {', '.join(self.symbols)} or an index in [0, {self.n_symbols - 1}]"
        )

    def __repr__(self) -> str:
        return (
            f"Engine({list(self.symbols)}, {self.market.timeframe}, {self.n_bars} bars, "
            f"n_accounts={self.n_accounts}, mode={self.config.mode!r}, fill={self.config.fill!r})"
        )


FillRow = tuple[int, str, float, float, float, str, int, bool, int | None, float]


def decode_fill_row(row: list[float]) -> FillRow:
    """One row of the engine's fill table (``row.tolist()``, columns ``F_*``) as plain values.

    Returns ``(symbol index, side, quantity, price, fee, kind, bar, at_close, order_id, slippage)``:
    side ``"buy"`` / ``"sell"``, kind a `FILL_KINDS` name, ``bar`` the bar it filled in (its open
    time, or its close time when ``at_close``), ``order_id`` None for market orders and
    liquidations. The one decoder of the table: `Engine.last_fills` and the env's
    ``info["filled_orders"]`` both use it.
    """
    sym, side, qty, price, fee, kind, bar, at_close, oid, slip = row
    return (
        int(sym),
        "buy" if side > 0 else "sell",
        qty,
        price,
        fee,
        _KIND_NAMES[kind],
        int(bar),
        at_close != 0.0,
        int(oid) if oid > 0 else None,
        slip,
    )


_KIND_NAMES = {float(code): name for code, name in FILL_KINDS.items()}
# `decode_fill_row` unpacks the table's columns in this order
assert (K.F_SYM, K.F_SIDE, K.F_QTY, K.F_PRICE, K.F_FEE, K.F_KIND, K.F_BAR, K.F_AT_CLOSE, K.F_OID, K.F_SLIP) == tuple(
    range(10)
)
assert K.N_FILL == 10


def _finite(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InvalidOrderError(f"{name}={value!r} is not allowed; allowed: a finite number > 0")
    v = float(value)
    if not math.isfinite(v):
        raise InvalidOrderError(f"{name}={value!r} is not allowed; allowed: a finite number > 0")
    return v


def _lot(q: float, step: float) -> float:
    if step > 0:
        return min(math.floor(q / step + 1e-9) * step, q)
    return q

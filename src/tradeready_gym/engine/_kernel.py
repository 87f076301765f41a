"""The compiled step kernel: every active account advances one bar over shared market arrays.

State layout (account index first):

* ``acct``   (N, K) float64: one row of scalars per account (columns ``A_*``).
* ``pos``    (N, S, P) float64: per account and symbol (columns ``P_*``).
* ``orders`` (N, O, Q) float64: pending orders, compacted in placement order (columns ``O_*``).
* ``fills``  (N, M, R) float64: the fills of the account's last step (columns ``F_*``).
* ``clock``  (N,) int64: bar index of each account's decision.
* ``mkt``    (T, S, 6) float64: open, high, low, close, quote volume, 1.0 on forward-filled bars
  (read-only, shared).
* ``prm``    (N_PRM,) float64: config scalars (``X_*``); ``symtab`` (S, 2): lot step, min notional.

Speed notes: the order path (`_trade`, `_apply_fill`, `_pending`) is compiled once and called
(`tradeready_gym._jit.helper`); the small per-account steps (`_step_account`, `_mark`, the checks
and views) are inlined into each driver (`tradeready_gym._jit.inline`), since a 1,024-account step
would otherwise spend as long passing their array arguments as doing the work. The kernels and helpers are compiled without
the reference-counting runtime (``_nrt=False``: they create views, never new arrays), so no atomic
reference-count updates happen per account. `step_kernel_parallel` splits the accounts over
threads with ``prange``; each account only writes its own rows, so it gives bit-for-bit the
results of `step_kernel`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import prange

from tradeready_gym._jit import helper, inline, kernel, kernel_twins

# market fields
M_OPEN, M_HIGH, M_LOW, M_CLOSE, M_QV, M_FILLED = 0, 1, 2, 3, 4, 5
N_MKT = 6

# account columns
A_CASH = 0
A_EQUITY = 1
A_FEES = 2
A_REALIZED = 3
A_RES_CASH = 4
A_START_EQ = 5
A_PEAK = 6
A_MAXDD = 7
A_NRET = 8
A_MEAN = 9
A_M2 = 10
A_DOWN2 = 11
A_NFILLS = 12
A_NCLOSED = 13
A_NWIN = 14
A_GPROFIT = 15
A_GLOSS = 16
A_EXPO = 17
A_FEE_RATE = 18
A_START_T = 19
A_STEP_FILLS = 20
A_SLIP = 21
A_BORROW = 22
A_POSVAL = 23
A_UPNL = 24
A_NEXT_OID = 25
A_TURNOVER = 26
A_NLIQ = 27
A_NREJECT = 28
N_ACCT = 29

# position columns
P_QTY, P_AVG, P_RES_QTY, P_ENTRY_FEE = 0, 1, 2, 3
N_POS = 4

# order columns and kinds
O_SYM, O_SIDE, O_KIND, O_QTY, O_PRICE, O_ID, O_RESERVED = 0, 1, 2, 3, 4, 5, 6
N_ORD = 7
K_MARKET, K_LIMIT, K_STOP, K_TAKE_PROFIT, K_LIQUIDATION = 0, 1, 2, 3, 4
# the kinds as the float64 the order and fill tables hold: every helper then gets one argument type
_KF_MARKET, _KF_LIQUIDATION = float(K_MARKET), float(K_LIQUIDATION)

# fill columns
F_SYM, F_SIDE, F_QTY, F_PRICE, F_FEE, F_KIND, F_BAR, F_AT_CLOSE, F_OID, F_SLIP = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9
N_FILL = 10

# parameters
X_FILL_CLOSE = 0
X_MARGIN = 1
X_REJECT = 2
X_SLIP_KIND = 3
X_SLIP_BPS = 4
X_SLIP_IMPACT = 5
X_SLIP_EXP = 6
X_SLIP_MAX = 7
X_HALF_SPREAD = 8
X_LEVERAGE = 9
X_MAINT = 10
X_BORROW_BAR = 11
X_MAX_ORDERS = 12
X_FEE_KIND = 13
X_FEE_MAKER = 14
X_FEE_FIXED = 15
N_PRM = 16

# fee model kinds (see costs.py): the taker / percentage rate is per account (A_FEE_RATE)
FEE_PERCENT, FEE_MAKER_TAKER, FEE_FIXED = 0, 1, 2

# fills below this notional (quote currency) are rounding dust and are skipped
DUST_NOTIONAL = 1e-8
# a buy limited to less cash than this has a notional below DUST_NOTIONAL (the margin covers the
# rounding of quantity x price, a few ulps)
_DUST_CASH = DUST_NOTIONAL * (1.0 - 1e-9)

# error codes (negative: account index; positive: flat index of a NaN order)
ERR_OK = 0

#: Compiler options of kernels that never allocate: no reference-counting runtime (every array
#: view and argument would otherwise pay atomic reference-count updates).
NO_NRT: dict[str, Any] = {"_nrt": False}

# batches of at least this many accounts are stepped by `step_kernel_parallel`
PARALLEL_MIN_ACCOUNTS = 128


@inline
def _slip(prm, notional, qv):
    kind = prm[X_SLIP_KIND]
    if kind == 0.0:
        return 0.0
    if kind == 1.0:
        return prm[X_SLIP_BPS] * 1e-4
    if qv <= 0.0:
        return prm[X_SLIP_MAX] * 1e-4
    bps = prm[X_SLIP_BPS] + 1e4 * prm[X_SLIP_IMPACT] * (notional / qv) ** prm[X_SLIP_EXP]
    if bps > prm[X_SLIP_MAX]:
        bps = prm[X_SLIP_MAX]
    return bps * 1e-4


@inline
def _floor_lot(q, step):
    if step > 0.0:
        # float floor: an integer count of lots would overflow for huge orders (1e30 / 1e-8)
        k = np.floor(q / step + 1e-9)
        qf = k * step
        if qf > q:
            qf = q
        return qf
    return q


@inline
def _fee_rate(prm, acct, i, kind):
    """The fee rate of a fill of ``kind``: the maker rate for limit and take-profit fills under a
    maker/taker model, else the account's (taker / percentage) rate."""
    if prm[X_FEE_KIND] == 1.0 and (kind == K_LIMIT or kind == K_TAKE_PROFIT):
        return prm[X_FEE_MAKER]
    return acct[i, A_FEE_RATE]


@helper
def _apply_fill(acct, pos, fills, prm, i, s, side, q, px, kind, bar, at_close, oid, slip_cost):
    """Book a fill of ``q > 0`` at ``px`` on the account: cash, position, PnL, fee, record."""
    notional = q * px
    fee = notional * _fee_rate(prm, acct, i, kind) + prm[X_FEE_FIXED]
    q0 = pos[i, s, P_QTY]
    a0 = pos[i, s, P_AVG]
    dq = side * q
    # closing part (opposite sign to the position)
    closed = 0.0
    if q0 != 0.0 and (q0 > 0.0) != (dq > 0.0):
        closed = min(q, abs(q0))
    opened = q - closed
    if closed > 0.0:
        sign = 1.0 if q0 > 0.0 else -1.0
        gross = closed * (px - a0) * sign
        acct[i, A_REALIZED] += gross
        carried = pos[i, s, P_ENTRY_FEE] * (closed / abs(q0))
        pos[i, s, P_ENTRY_FEE] -= carried
        net = gross - fee * (closed / q) - carried
        acct[i, A_NCLOSED] += 1.0
        if net > 0.0:
            acct[i, A_NWIN] += 1.0
            acct[i, A_GPROFIT] += net
        else:
            acct[i, A_GLOSS] -= net
    q1 = q0 + dq
    if closed >= abs(q0) and closed > 0.0 and opened == 0.0:
        q1 = 0.0  # an exact close leaves exactly nothing
    if q1 == 0.0:
        pos[i, s, P_AVG] = 0.0
        pos[i, s, P_ENTRY_FEE] = 0.0
    elif opened > 0.0:
        if closed > 0.0:  # flipped through zero
            pos[i, s, P_AVG] = px
            pos[i, s, P_ENTRY_FEE] = fee * (opened / q)
        else:
            pos[i, s, P_AVG] = (abs(q0) * a0 + opened * px) / abs(q1)
            pos[i, s, P_ENTRY_FEE] += fee
    pos[i, s, P_QTY] = q1
    if side > 0.0:
        acct[i, A_CASH] = (acct[i, A_CASH] - notional) - fee
    else:
        acct[i, A_CASH] = (acct[i, A_CASH] + notional) - fee
    acct[i, A_FEES] += fee
    acct[i, A_SLIP] += slip_cost
    acct[i, A_TURNOVER] += notional
    acct[i, A_NFILLS] += 1.0
    n = int(acct[i, A_STEP_FILLS])
    if n < fills.shape[1]:
        fills[i, n, F_SYM] = s
        fills[i, n, F_SIDE] = side
        fills[i, n, F_QTY] = q
        fills[i, n, F_PRICE] = px
        fills[i, n, F_FEE] = fee
        fills[i, n, F_KIND] = kind
        fills[i, n, F_BAR] = bar
        fills[i, n, F_AT_CLOSE] = at_close
        fills[i, n, F_OID] = oid
        fills[i, n, F_SLIP] = slip_cost
        acct[i, A_STEP_FILLS] = n + 1


@inline
def _gross_other(mkt, pos, i, s_skip, bar):
    g = 0.0
    for s in range(pos.shape[1]):
        if s != s_skip:
            g += abs(pos[i, s, P_QTY]) * mkt[bar, s, M_CLOSE]
    return g


@inline
def _cost_price(prm, side, ref, slip):
    """The fill price of a market-like order: spread and slippage against the trader."""
    if side > 0.0:
        return ref * (1.0 + prm[X_HALF_SPREAD]) * (1.0 + slip)
    return ref * (1.0 - prm[X_HALF_SPREAD]) * (1.0 - slip)


@inline
def _margin_limit(max_gross, other, px, reducing, q0):
    """Margin mode: the largest quantity at ``px`` that keeps gross exposure within ``max_gross``."""
    room = (max_gross - other) / px
    if room < 0.0:
        room = 0.0
    return reducing + room if reducing > 0.0 else max(room - abs(q0), 0.0)


@helper
def _trade(
    mkt,
    acct,
    pos,
    fills,
    prm,
    symtab,
    i,
    s,
    side,
    q_req,
    ref,
    qv_bar,
    kind,
    bar,
    at_close,
    oid,
    costs,
    reduce_only,
    extra_cash,
):
    """Clip, cost and book one order of ``q_req > 0``; returns the filled quantity (0 = no fill).

    ``ref`` is the reference price (open, close or trigger level). ``costs`` applies spread and
    slippage. ``extra_cash`` is cash released by the order's own reservation (limit buys).
    """
    margin = prm[X_MARGIN] != 0.0
    reject = prm[X_REJECT] != 0.0
    if mkt[bar, s, M_FILLED] != 0.0:
        # a forward-filled bar is a gap in the data: the market did not trade, nothing fills
        acct[i, A_NREJECT] += 1.0
        return 0.0
    step = symtab[s, 0]
    q0 = pos[i, s, P_QTY]
    qv = mkt[qv_bar, s, M_QV]
    q = q_req
    if q0 != 0.0 and (q0 > 0.0) != (side > 0.0) and abs(q - abs(q0)) <= 1e-12 * abs(q0):
        # within rounding of the position (e.g. a target of 0 computed as -(q * p) / p): close it
        # exactly instead of leaving dust
        q = abs(q0)
    # --- quantity limits that do not depend on price
    if reduce_only:
        avail = q0 - pos[i, s, P_RES_QTY] if side < 0.0 else -q0
        if avail < 0.0:
            avail = 0.0
        if q > avail:
            q = avail
    elif side < 0.0 and not margin:
        avail = q0 - pos[i, s, P_RES_QTY]
        if avail < 0.0:
            avail = 0.0
        if q > avail:
            if reject:
                acct[i, A_NREJECT] += 1.0
                return 0.0
            q = avail
    q = _floor_lot(q, step)
    if q <= 0.0:
        return 0.0
    # --- price
    px = ref
    if costs:
        notional_est = q * ref
        if side > 0.0 and not margin:
            cash_av = acct[i, A_CASH] - acct[i, A_RES_CASH] + extra_cash
            if notional_est > cash_av:
                notional_est = max(cash_av, 0.0)
        px = _cost_price(prm, side, ref, _slip(prm, notional_est, qv))
    fr = _fee_rate(prm, acct, i, kind)
    fx = prm[X_FEE_FIXED]
    # --- quantity limits that depend on price
    if side > 0.0 and not margin:
        floor_cash = acct[i, A_RES_CASH] - extra_cash
        cash_av = acct[i, A_CASH] - floor_cash
        if cash_av <= 0.0:
            return 0.0
        need = q * px
        # the same float operations that `_apply_fill` books, so rounding cannot take cash below
        # the reserved amount (a limit buy reserved exactly all the cash, say)
        if (acct[i, A_CASH] - need) - (need * fr + fx) < floor_cash:
            if reject and not reduce_only and kind != K_LIMIT:
                acct[i, A_NREJECT] += 1.0
                return 0.0
            spend = cash_av - fx
            if spend < _DUST_CASH:
                # what the cash buys is dust: the dust check below would skip it (after the
                # rounding loop, which needs many steps at such tiny amounts); with a fixed fee
                # the cash does not even pay the fee: a rejection
                if fx > 0.0 and cash_av >= _DUST_CASH:
                    acct[i, A_NREJECT] += 1.0
                return 0.0
            q = _floor_lot(spend / (px * (1.0 + fr)), step)
            for _ in range(64):
                nt = q * px
                if (acct[i, A_CASH] - nt) - (nt * fr + fx) >= floor_cash:
                    break
                q = np.nextafter(q, 0.0) if step <= 0.0 else q - step
            if q <= 0.0:
                return 0.0
    elif side < 0.0 and not margin and fx > 0.0:
        # a fixed fee larger than the proceeds plus the free cash would take cash below zero
        nt = q * px
        if (acct[i, A_CASH] + nt) - (nt * fr + fx) < acct[i, A_RES_CASH]:
            acct[i, A_NREJECT] += 1.0
            return 0.0
    elif margin and not reduce_only:
        # gross exposure after the trade must stay within leverage x equity
        eq = acct[i, A_EQUITY]
        max_gross = prm[X_LEVERAGE] * eq if eq > 0.0 else 0.0
        other = _gross_other(mkt, pos, i, s, qv_bar)
        # the part of q that reduces the current position is always allowed
        reducing = 0.0
        if q0 != 0.0 and (q0 > 0.0) != (side > 0.0):
            reducing = abs(q0)
        lim = _margin_limit(max_gross, other, px, reducing, q0)
        if q > lim:
            if reject:
                acct[i, A_NREJECT] += 1.0
                return 0.0
            q_ask = q
            q = _floor_lot(lim, step)
            if costs and q > 0.0 and prm[X_SLIP_KIND] == 2.0:
                # volume-participation slippage of the quantity that fills, not of the one asked
                # for: the largest quantity whose exposure at its own price fits (a fixed point,
                # reached in a few steps because the slippage grows slowly with the quantity)
                for _ in range(8):
                    px = _cost_price(prm, side, ref, _slip(prm, q * ref, qv))
                    qn = _floor_lot(min(_margin_limit(max_gross, other, px, reducing, q0), q_ask), step)
                    if qn == q:
                        break
                    q = qn
                px = _cost_price(prm, side, ref, _slip(prm, q * ref, qv))
                lim = _margin_limit(max_gross, other, px, reducing, q0)
                if q > lim:  # not converged: stay within the limit (at the price of a few ulps more)
                    q = _floor_lot(lim, step)
    if q <= 0.0:
        return 0.0
    notional = q * px
    if notional < DUST_NOTIONAL:
        return 0.0  # rounding dust (e.g. a buy from the few ulps of cash left after an all-in buy)
    if notional < symtab[s, 1]:
        acct[i, A_NREJECT] += 1.0
        return 0.0
    slip_cost = q * abs(px - ref)
    _apply_fill(acct, pos, fills, prm, i, s, side, q, px, kind, bar, at_close, oid, slip_cost)
    return q


@inline
def _remove_order(orders, acct, pos, i, k, n_active):
    """Drop order slot ``k`` (releasing its reservation) and compact the rest; returns new count."""
    reserved = orders[i, k, O_RESERVED]
    if reserved > 0.0:
        s = int(orders[i, k, O_SYM])
        if orders[i, k, O_SIDE] > 0.0:
            acct[i, A_RES_CASH] -= reserved
            if acct[i, A_RES_CASH] < 0.0:
                acct[i, A_RES_CASH] = 0.0
        else:
            pos[i, s, P_RES_QTY] -= reserved
            if pos[i, s, P_RES_QTY] < 0.0:
                pos[i, s, P_RES_QTY] = 0.0
    for j in range(k, n_active - 1):
        for c in range(N_ORD):
            orders[i, j, c] = orders[i, j + 1, c]
    for c in range(N_ORD):
        orders[i, n_active - 1, c] = 0.0
    if n_active == 1:
        # no order left: clear any rounding residue of the reservations
        acct[i, A_RES_CASH] = 0.0
        for s in range(pos.shape[1]):
            pos[i, s, P_RES_QTY] = 0.0
    return n_active - 1


@inline
def count_orders(orders, i):
    n = 0
    for k in range(orders.shape[1]):
        if orders[i, k, O_QTY] > 0.0:
            n += 1
        else:
            break
    return n


@helper
def _pending(mkt, acct, pos, orders, fills, prm, symtab, i, t, b):
    """Check pending orders against bar ``b``: stop-losses first (the worse case), then the rest."""
    n = count_orders(orders, i)
    if n == 0:
        return
    for phase in range(2):
        k = 0
        while k < n:
            kind = orders[i, k, O_KIND]
            if (phase == 0) != (kind == K_STOP):
                k += 1
                continue
            s = int(orders[i, k, O_SYM])
            if mkt[b, s, M_FILLED] != 0.0:  # no trading in a forward-filled bar: the order waits
                k += 1
                continue
            side = orders[i, k, O_SIDE]
            lvl = orders[i, k, O_PRICE]
            op = mkt[b, s, M_OPEN]
            hi = mkt[b, s, M_HIGH]
            lo = mkt[b, s, M_LOW]
            hit = False
            ref = lvl
            if kind == K_STOP:
                # a sell stop triggers on a fall to the level, a buy stop on a rise
                if side < 0.0 and lo <= lvl:
                    hit = True
                    ref = min(op, lvl)
                elif side > 0.0 and hi >= lvl:
                    hit = True
                    ref = max(op, lvl)
            else:
                # limit / take-profit: a buy fills at or below the level, a sell at or above
                if side > 0.0 and lo <= lvl:
                    hit = True
                    ref = min(op, lvl)
                elif side < 0.0 and hi >= lvl:
                    hit = True
                    ref = max(op, lvl)
            if not hit:
                k += 1
                continue
            q = orders[i, k, O_QTY]
            oid = orders[i, k, O_ID]
            # release the reservation, then trade against the freed funds
            n = _remove_order(orders, acct, pos, i, k, n)
            _trade(
                mkt,
                acct,
                pos,
                fills,
                prm,
                symtab,
                i,
                s,
                side,
                q,
                ref,
                t,
                kind,
                b,
                0.0,
                oid,
                kind == K_STOP,
                kind != K_LIMIT,
                0.0,
            )


@inline
def _mark(mkt, acct, pos, orders, fills, prm, symtab, i, b):
    """Borrow cost, liquidation (margin), equity at close[b] and the running episode statistics."""
    S = pos.shape[1]
    if prm[X_MARGIN] != 0.0 and prm[X_BORROW_BAR] > 0.0:
        borrowed = max(-acct[i, A_CASH], 0.0)
        for s in range(S):
            q = pos[i, s, P_QTY]
            if q < 0.0:
                borrowed += -q * mkt[b, s, M_CLOSE]
        cost = borrowed * prm[X_BORROW_BAR]
        acct[i, A_CASH] -= cost
        acct[i, A_BORROW] += cost
    eq = acct[i, A_CASH]
    posval = 0.0
    upnl = 0.0
    gross = 0.0
    for s in range(S):
        q = pos[i, s, P_QTY]
        c = mkt[b, s, M_CLOSE]
        posval += q * c
        upnl += q * (c - pos[i, s, P_AVG])
        gross += abs(q) * c
    eq += posval
    if prm[X_MARGIN] != 0.0 and gross > 0.0 and eq < prm[X_MAINT] * gross:
        # liquidation: cancel every pending order and close every position at this close
        n = count_orders(orders, i)
        while n > 0:
            n = _remove_order(orders, acct, pos, i, 0, n)
        for s in range(S):
            q = pos[i, s, P_QTY]
            if q != 0.0:
                side = -1.0 if q > 0.0 else 1.0
                c = mkt[b, s, M_CLOSE]
                slip = _slip(prm, abs(q) * c, mkt[b - 1, s, M_QV])
                px = c * (1.0 + side * prm[X_HALF_SPREAD]) * (1.0 + side * slip)
                # exchange filters do not apply to a liquidation: the whole position is closed
                _apply_fill(
                    acct,
                    pos,
                    fills,
                    prm,
                    i,
                    s,
                    side,
                    abs(q),
                    px,
                    _KF_LIQUIDATION,
                    b,
                    1.0,
                    -1.0,
                    abs(q) * abs(px - c),
                )
        acct[i, A_NLIQ] += 1.0
        eq = acct[i, A_CASH]
        posval = 0.0
        upnl = 0.0
        gross = 0.0
    prev = acct[i, A_EQUITY]
    acct[i, A_EQUITY] = eq
    acct[i, A_POSVAL] = posval
    acct[i, A_UPNL] = upnl
    r = eq / prev - 1.0 if prev > 0.0 else 0.0
    n_ret = acct[i, A_NRET] + 1.0
    acct[i, A_NRET] = n_ret
    d = r - acct[i, A_MEAN]
    acct[i, A_MEAN] += d / n_ret
    acct[i, A_M2] += d * (r - acct[i, A_MEAN])
    if r < 0.0:
        acct[i, A_DOWN2] += r * r
    if eq > acct[i, A_PEAK]:
        acct[i, A_PEAK] = eq
    if acct[i, A_PEAK] > 0.0:
        dd = eq / acct[i, A_PEAK] - 1.0
        if dd < acct[i, A_MAXDD]:
            acct[i, A_MAXDD] = dd
    if gross >= DUST_NOTIONAL:  # real exposure: a few ulps of a position are not a position
        acct[i, A_EXPO] += 1.0


def layout(n_accounts: int, n_symbols: int, max_orders: int) -> dict[str, tuple[int, tuple[int, ...]]]:
    """Offsets and shapes of the parts of the one float64 state buffer (see `unpack`)."""
    n, s, o = n_accounts, n_symbols, max_orders
    m = 2 * s + o
    parts: tuple[tuple[str, tuple[int, ...]], ...] = (
        ("prm", (N_PRM,)),
        ("symtab", (s, 2)),
        ("acct", (n, N_ACCT)),
        ("pos", (n, s, N_POS)),
        ("orders", (n, o, N_ORD)),
        ("fills", (n, m, N_FILL)),
    )
    out: dict[str, tuple[int, tuple[int, ...]]] = {}
    off = 0
    for name, shape in parts:
        out[name] = (off, shape)
        size = 1
        for d in shape:
            size *= d
        off += size
    out["total"] = (off, ())
    return out


@inline
def unpack(state, n, s):
    """Views of the parts of the state buffer: prm, symtab, acct, pos, orders, fills."""
    o = int(state[X_MAX_ORDERS])
    m = 2 * s + o
    off = N_PRM
    prm = state[:N_PRM]
    symtab = state[off : off + s * 2].reshape((s, 2))
    off += s * 2
    acct = state[off : off + n * N_ACCT].reshape((n, N_ACCT))
    off += n * N_ACCT
    pos = state[off : off + n * s * N_POS].reshape((n, s, N_POS))
    off += n * s * N_POS
    orders = state[off : off + n * o * N_ORD].reshape((n, o, N_ORD))
    off += n * o * N_ORD
    fills = state[off : off + n * m * N_FILL].reshape((n, m, N_FILL))
    return prm, symtab, acct, pos, orders, fills


@inline
def _check_step(mkt, clock, oq, active):
    """The error code of a step (see `step_kernel`): 0 when every active account can step."""
    for i in range(oq.shape[0]):
        code = _check_account(mkt, clock, oq, active, i)
        if code != ERR_OK:
            return code
    return ERR_OK


@inline
def _check_account(mkt, clock, oq, active, i):
    """The error code of account ``i``'s step (see `step_kernel`): 0 when it can step."""
    if not active[i]:
        return ERR_OK
    if clock[i] + 1 >= mkt.shape[0]:
        return -(i + 1)
    S = oq.shape[1]
    for s in range(S):
        if not math.isfinite(oq[i, s]):
            return 1 + i * S + s
    return ERR_OK


@inline
def _step_account(mkt, acct, pos, orders, fills, prm, symtab, clock, oq, i, at_close):
    """One account's step: market orders (sells first), pending orders, then the mark."""
    S = pos.shape[1]
    acct[i, A_STEP_FILLS] = 0.0
    t = clock[i]
    b = t + 1
    fb = t if at_close else b
    fld = M_CLOSE if at_close else M_OPEN
    flag = 1.0 if at_close else 0.0
    for s in range(S):  # sells first: they free cash for the buys
        q = oq[i, s]
        if q < 0.0:
            _trade(
                mkt,
                acct,
                pos,
                fills,
                prm,
                symtab,
                i,
                s,
                -1.0,
                -q,
                mkt[fb, s, fld],
                t,
                _KF_MARKET,
                fb,
                flag,
                -1.0,
                True,
                False,
                0.0,
            )
    for s in range(S):
        q = oq[i, s]
        if q > 0.0:
            _trade(
                mkt,
                acct,
                pos,
                fills,
                prm,
                symtab,
                i,
                s,
                1.0,
                q,
                mkt[fb, s, fld],
                t,
                _KF_MARKET,
                fb,
                flag,
                -1.0,
                True,
                False,
                0.0,
            )
    if orders[i, 0, O_QTY] > 0.0:  # open orders fill the book from slot 0 (`count_orders`)
        _pending(mkt, acct, pos, orders, fills, prm, symtab, i, t, b)
    _mark(mkt, acct, pos, orders, fills, prm, symtab, i, b)
    clock[i] = b


def _step_all(mkt, state, clock, oq, active):  # type: ignore[no-untyped-def]
    """Advance every active account by one bar. Returns 0, or an error code and changes nothing.

    ``state`` is the one float64 buffer holding parameters and every account table (few arguments
    keep the call overhead of the compiled function low).

    Error codes: ``-(i + 1)`` when account ``i`` is at the last bar; ``1 + i * S + s`` when the
    market order of account ``i`` for symbol ``s`` is NaN or infinite.
    """
    code = _check_step(mkt, clock, oq, active)
    if code != ERR_OK:
        return code
    prm, symtab, acct, pos, orders, fills = unpack(state, oq.shape[0], oq.shape[1])
    at_close = prm[X_FILL_CLOSE] != 0.0
    for i in prange(acct.shape[0]):
        if active[i]:
            _step_account(mkt, acct, pos, orders, fills, prm, symtab, clock, oq, i, at_close)
    return ERR_OK


#: `_step_all` account by account, and with the accounts split over threads (large batches).
#: Accounts are independent (each reads the shared market and writes only its own rows), so every
#: account ends in exactly the state the serial kernel gives it.
step_kernel, step_kernel_parallel = kernel_twins(_step_all, nrt=False)


@kernel(nrt=False)
def advance_kernel(mkt, state, clock, no_orders, active, n_bars, done, equity_out):
    """Advance every active account by up to ``n_bars`` bars without new market orders.

    Each bar is `_step_account` with the zero orders ``no_orders`` (the body `step_kernel` runs
    for one bar). An account stops after a bar in which it had a fill (a pending order triggered,
    or a liquidation), so that bar's fills are in the fill table exactly as after a single step,
    and at the last bar of the data. ``done[i]`` receives the number of bars account ``i``
    advanced; ``equity_out[i, k]`` its equity after its ``k``-th bar (for ``k`` below the number
    of columns; a ``(N, 0)`` array records nothing). Inactive accounts are left untouched.
    """
    prm, symtab, acct, pos, orders, fills = unpack(state, no_orders.shape[0], no_orders.shape[1])
    at_close = prm[X_FILL_CLOSE] != 0.0
    last = mkt.shape[0] - 1
    cols = equity_out.shape[1]
    for i in range(acct.shape[0]):
        k = 0
        if active[i]:
            while k < n_bars and clock[i] < last:
                _step_account(mkt, acct, pos, orders, fills, prm, symtab, clock, no_orders, i, at_close)
                if k < cols:
                    equity_out[i, k] = acct[i, A_EQUITY]
                k += 1
                if acct[i, A_STEP_FILLS] > 0.0:
                    break
        done[i] = k


@kernel
def reset_kernel(mkt, acct, pos, orders, clock, start, mask, balance):
    """Reset the accounts where ``mask`` is true to ``balance`` cash at bar ``start[i]``."""
    for i in range(acct.shape[0]):
        if not mask[i]:
            continue
        fee_rate = acct[i, A_FEE_RATE]
        acct[i, :] = 0.0
        acct[i, A_FEE_RATE] = fee_rate
        acct[i, A_CASH] = balance
        acct[i, A_EQUITY] = balance
        acct[i, A_START_EQ] = balance
        acct[i, A_PEAK] = balance
        acct[i, A_START_T] = start[i]
        acct[i, A_NEXT_OID] = 1.0
        pos[i, :, :] = 0.0
        orders[i, :, :] = 0.0
        clock[i] = start[i]

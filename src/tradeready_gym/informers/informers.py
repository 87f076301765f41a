"""Informers: the ``info`` of a step, per env (single env) or as arrays (vector env)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tradeready_gym.envs.base import Component
from tradeready_gym.timeframes import format_iso

__all__ = ["INFO_KEYS", "DefaultInformer", "Informer", "fill_to_dict"]

#: Keys of `DefaultInformer.info`, in order.
INFO_KEYS: tuple[str, ...] = (
    "equity",
    "available_cash",
    "position_value",
    "unrealized_pnl",
    "realized_pnl",
    "fees_paid",
    "virtual_time",
    "step",
    "total_steps",
    "progress_pct",
    "filled_orders",
    "prices",
    "positions",
)


def fill_to_dict(fill: Any, iso: Callable[[int], str] = format_iso) -> dict[str, Any]:
    """A fill as a plain dict: symbol, side, quantity, price, fee, time (ISO 8601), and kind when known.

    ``iso`` formats a time in ns (default `format_iso`; envs pass their feed's precomputed strings).
    """
    def get(key: str) -> Any:
        return fill.get(key) if isinstance(fill, dict) else getattr(fill, key, None)

    time = get("time")
    out: dict[str, Any] = {
        "symbol": str(get("symbol")),
        "side": str(get("side")),
        "quantity": float(get("quantity")),
        "price": float(get("price")),
        "fee": float(get("fee")),
        "time": iso(int(time)) if isinstance(time, (int, np.integer)) else time,
    }
    kind = get("kind")
    if kind is not None:
        out["kind"] = str(kind)
    return out


class Informer(Component):
    """Base class: `info` builds the dict of one env; `batch_info` the arrays of all envs."""

    registered_name = "informer"

    def info(self, i: int = 0) -> dict[str, Any]:
        """The info dict of env ``i``."""
        raise NotImplementedError

    def batch_info(self) -> dict[str, Any]:
        """Info of every env as arrays with the env index first (vector env format)."""
        raise NotImplementedError


class DefaultInformer(Informer):
    """The documented info keys (see `INFO_KEYS`).

    ``equity``, ``available_cash``, ``position_value``, ``unrealized_pnl``, ``realized_pnl``,
    ``fees_paid`` (floats, quote currency), ``virtual_time`` (ISO 8601 'Z' decision time, i.e. the
    close time of the clock bar), ``step`` (steps since reset), ``total_steps`` (steps the episode
    lasts at most), ``progress_pct`` (100 x step / total_steps), ``filled_orders`` (fills of the last
    step as dicts: symbol, side, quantity, price, fee, time), ``prices`` (symbol -> close at the
    clock) and ``positions`` (symbol -> quantity held).

    `batch_info` reports the numeric keys and ``virtual_time`` as arrays; per-fill details are only
    in the single-env info (``filled_orders``), the batch carries ``n_fills`` instead.
    """

    def info(self, i: int = 0) -> dict[str, Any]:
        st = self.state
        eng = st.engine
        t = int(eng.t[i])
        step = int(st.steps[i])
        total = int(st.end[i] - st.start[i])
        limit = int(st.max_steps[i])
        if 0 <= limit < total:
            total = limit
        close = st.feed.close[t].tolist()
        qty = eng.qty[i].tolist()
        symbols = st.feed.symbols
        fills = eng.last_fills(i) if step > 0 and eng.step_fill_count[i] > 0 else ()
        return {
            "equity": float(eng.equity[i]),
            "available_cash": float(eng.cash[i]),
            "position_value": float(eng.position_value[i]),
            "unrealized_pnl": float(eng.unrealized_pnl[i]),
            "realized_pnl": float(eng.realized_pnl[i]),
            "fees_paid": float(eng.fees_paid[i]),
            "virtual_time": str(st.feed.iso_times[t]),
            "step": step,
            "total_steps": total,
            "progress_pct": 100.0 * step / total if total > 0 else 100.0,
            "filled_orders": [fill_to_dict(f, st.feed.iso_of) for f in fills],
            "prices": dict(zip(symbols, close, strict=True)),
            "positions": dict(zip(symbols, qty, strict=True)),
        }

    def batch_info(self) -> dict[str, Any]:
        st = self.state
        eng = st.engine
        t = np.asarray(eng.t)
        total = st.total_steps()
        steps = st.steps.copy()
        out: dict[str, Any] = {
            "equity": np.array(eng.equity, dtype=np.float64),
            "available_cash": np.array(eng.cash, dtype=np.float64),
            "position_value": np.array(eng.position_value, dtype=np.float64),
            "unrealized_pnl": np.array(eng.unrealized_pnl, dtype=np.float64),
            "realized_pnl": np.array(eng.realized_pnl, dtype=np.float64),
            "fees_paid": np.array(eng.fees_paid, dtype=np.float64),
            "virtual_time": st.feed.iso_times[t],
            "step": steps,
            "total_steps": total,
            "progress_pct": np.where(total > 0, 100.0 * steps / np.maximum(total, 1), 100.0),
            "prices": np.array(st.feed.close[t], dtype=np.float64),
            "positions": np.array(eng.qty, dtype=np.float64),
            "n_fills": np.where(steps > 0, np.asarray(eng.step_fill_count, dtype=np.int64), 0),
        }
        return out

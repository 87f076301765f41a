"""Informers: the ``info`` of a step, per env (single env) or as arrays (vector env)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tradeready_gym.components import Component, total_steps_env
from tradeready_gym.engine import _kernel as K
from tradeready_gym.engine.core import decode_fill_row
from tradeready_gym.errors import ConfigError
from tradeready_gym.informers._kernels import _batch_numbers, _batch_numbers_parallel
from tradeready_gym.observers.window import PARALLEL_MIN_ENVS
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


_A_EQUITY, _A_CASH, _A_POSVAL, _A_UPNL = K.A_EQUITY, K.A_CASH, K.A_POSVAL, K.A_UPNL
_A_REALIZED, _A_FEES, _A_STEP_FILLS = K.A_REALIZED, K.A_FEES, K.A_STEP_FILLS
_P_QTY = K.P_QTY
_total_steps = total_steps_env.py_func  # the compiled rule's own Python body, for one env


#: ``(numbers, t, step, total, n_fills) -> info`` (see `DefaultInformer.info_builder`).
InfoBuilder = Callable[[list[float], int, int, int, int], dict[str, Any]]


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

    _parallel: bool | None = None

    @property
    def parallel(self) -> bool | None:
        """Fill the batch arrays on all cores: None decides by the batch size (`PARALLEL_MIN_ENVS`)."""
        return self._parallel

    @parallel.setter
    def parallel(self, value: bool | None) -> None:
        if value is not None and not isinstance(value, (bool, np.bool_)):
            raise ConfigError(f"parallel={value!r} is not allowed; allowed: True, False or None")
        self._parallel = None if value is None else bool(value)

    _iso_cache: tuple[Any, tuple[np.ndarray, np.ndarray]] | None = None
    _builders: dict[int, InfoBuilder] = {}  # noqa: RUF012 (replaced per instance by `bind`)

    def bind(self, state: Any) -> None:
        super().bind(state)
        self._builders = {}

    def info(self, i: int = 0) -> dict[str, Any]:
        st = self._state
        if st is None:
            st = self.state  # raises: not attached yet
        eng = st.engine
        row = eng.account_table[i].tolist()  # every account scalar in one call
        t = eng.t.item(i)
        step = st.steps.item(i)
        total = int(_total_steps(st.start, st.end, st.max_steps, i))
        numbers = [
            0.0,
            row[_A_EQUITY],
            row[_A_CASH],
            row[_A_POSVAL],
            row[_A_UPNL],
            row[_A_REALIZED],
            row[_A_FEES],
            100.0 * step / total if total > 0 else 100.0,
        ]
        numbers += st.feed.lists()[2][t]
        numbers += eng.qty[i].tolist()
        return self.info_builder(i)(numbers, t, step, total, int(row[_A_STEP_FILLS]) if step > 0 else 0)

    def info_from_numbers(
        self, numbers: list[float], t: int, step: int, total: int, n_fills: int, i: int = 0
    ) -> dict[str, Any]:
        """The info dict of env ``i`` from its numbers (see `info_builder`)."""
        return self.info_builder(i)(numbers, t, step, total, n_fills)

    def info_builder(self, i: int = 0) -> InfoBuilder:
        """The function that makes env ``i``'s info dict from its numbers (made once per env).

        It takes ``numbers`` (a value not used here, e.g. the step's reward, then equity, cash,
        position value, unrealized PnL, realized PnL, fees, progress %, the closes and the
        quantities held per symbol), ``t`` (the env's clock bar), ``step``, ``total`` (steps the
        episode lasts at most) and ``n_fills`` (fills of its last step, read straight from the
        engine's fill table). `info` and the compiled single-env step both build their dicts with it.
        """
        builder = self._builders.get(i)
        if builder is None:
            builder = self._builders[i] = self._make_builder(i)
        return builder

    def _make_builder(self, i: int) -> InfoBuilder:
        st = self.state
        symbols = tuple(st.feed.symbols)
        n_sym = len(symbols)
        sym0 = symbols[0] if n_sym == 1 else None
        close_iso, open_iso, _ = st.feed.lists()
        # the rows of the env's fill table, as views made once; the table's float codes index the
        # symbol and kind names directly
        rows = list(st.engine.fill_table[i])

        def fills(n: int) -> list[dict[str, Any]]:
            """The last step's ``n`` fills, equal to `fill_to_dict` of `Engine.last_fills`: the time of
            a fill is its bar's open time, or the bar's close time for fills at the close."""
            out = []
            for k in range(n):
                sym, side, qty, price, fee, kind, bar, at_close, _, _ = decode_fill_row(rows[k].tolist())
                out.append(
                    {
                        "symbol": symbols[sym],
                        "side": side,
                        "quantity": qty,
                        "price": price,
                        "fee": fee,
                        "time": (close_iso if at_close else open_iso)[bar],
                        "kind": kind,
                    }
                )
            return out

        def build(numbers: list[float], t: int, step: int, total: int, n_fills: int) -> dict[str, Any]:
            if sym0 is not None:
                _, equity, cash, posval, upnl, realized, fees, progress, price, qty = numbers
                prices = {sym0: price}
                positions = {sym0: qty}
            else:
                _, equity, cash, posval, upnl, realized, fees, progress = numbers[:8]
                prices = dict(zip(symbols, numbers[8 : 8 + n_sym], strict=True))
                positions = dict(zip(symbols, numbers[8 + n_sym : 8 + 2 * n_sym], strict=True))
            return {
                "equity": equity,
                "available_cash": cash,
                "position_value": posval,
                "unrealized_pnl": upnl,
                "realized_pnl": realized,
                "fees_paid": fees,
                "virtual_time": close_iso[t],
                "step": step,
                "total_steps": total,
                "progress_pct": progress,
                "filled_orders": fills(n_fills) if n_fills > 0 else [],
                "prices": prices,
                "positions": positions,
            }

        return build

    def batch_info(self) -> dict[str, Any]:
        st = self.state
        eng = st.engine
        n, n_sym = st.n_envs, st.n_symbols
        iso_times, iso_rows = self._iso_rows(st)
        floats = np.empty((7, n), dtype=np.float64)
        ints = np.empty((3, n), dtype=np.int64)
        prices = np.empty((n, n_sym), dtype=np.float64)
        positions = np.empty((n, n_sym), dtype=np.float64)
        fast_iso = iso_rows.shape[1] > 0
        virtual_time = np.empty(n, dtype=iso_times.dtype) if fast_iso else iso_times[eng.t]
        iso_out = virtual_time.view(np.uint32).reshape(n, iso_rows.shape[1]) if fast_iso else iso_rows[:n]
        parallel = n >= PARALLEL_MIN_ENVS if self.parallel is None else self.parallel
        (_batch_numbers_parallel if parallel else _batch_numbers)(
            eng.equity,
            eng.cash,
            eng.position_value,
            eng.unrealized_pnl,
            eng.realized_pnl,
            eng.fees_paid,
            eng.step_fill_count,
            eng.t,
            st.feed.close,
            eng.qty,
            st.steps,
            st.start,
            st.end,
            st.max_steps,
            floats,
            ints,
            prices,
            positions,
            iso_rows,
            iso_out,
        )
        return {
            "equity": floats[0],
            "available_cash": floats[1],
            "position_value": floats[2],
            "unrealized_pnl": floats[3],
            "realized_pnl": floats[4],
            "fees_paid": floats[5],
            "virtual_time": virtual_time,
            "step": ints[0],
            "total_steps": ints[1],
            "progress_pct": floats[6],
            "prices": prices,
            "positions": positions,
            "n_fills": ints[2],
        }

    def _iso_rows(self, st: Any) -> tuple[np.ndarray, np.ndarray]:
        """The feed's ISO times and the same bytes as a ``(T, K)`` uint32 array (made once per feed)."""
        cached = self._iso_cache
        if cached is not None and cached[0] is st:
            return cached[1]
        iso_times = st.feed.iso_times
        if iso_times.dtype.kind == "U" and iso_times.ndim == 1 and iso_times.flags.c_contiguous:
            width = iso_times.dtype.itemsize // 4
            values = (iso_times, iso_times.view(np.uint32).reshape(iso_times.shape[0], width))
        else:  # not fixed-width text in one block: `batch_info` indexes it with numpy instead
            values = (iso_times, np.zeros((iso_times.shape[0], 0), dtype=np.uint32))
        self._iso_cache = (st, values)
        return values

"""Compressed episode traces for replay: decision times, closes, equity, positions and fills.

Format (version 2, written whenever every fill is an env fill record, see below), as stored in
``traces.data``::

    b"TRT2" + zlib.compress(
        uint32 little-endian length of the JSON header
        + JSON header (UTF-8): {"version": 2, "symbols": [...], "n": steps + 1, "n_fills": k,
                               "fill_kinds": [kind names], "arrays": [{"name", "dtype", "shape"}, ...],
                               "meta": {...}}
        + the arrays' raw little-endian bytes, in the order of "arrays"
    )

Arrays: ``times`` int64 ``(n,)`` decision times in ns UTC (the close time of each decision bar, reset
bar first); ``closes`` float64 ``(n, S)``; ``equity`` float64 ``(n,)``; ``position`` float64 ``(n, S)``,
the quantity held of each symbol after each decision (0 at reset); then the fills as columns:
``fill_time`` int64 ``(k,)`` ns UTC, ``fill_symbol`` int32 (index into ``symbols``), ``fill_side``
int8 (+1 buy, -1 sell), ``fill_quantity``, ``fill_price``, ``fill_fee`` float64 and ``fill_kind``
int8 (index into ``fill_kinds``). An env fill record is a dict with exactly the keys of the env's
``info["filled_orders"]`` entries (symbol, side, quantity, price, fee, time as ISO 8601
``YYYY-MM-DDTHH:MM:SSZ``, kind); `decode_trace` gives them back equal, key order included.

Version 1 (``b"TRT1"``, still written when a fill has another shape, e.g. hand-made traces, and
always readable) keeps the same four arrays and the fills as a JSON list in the header
(``"fills": [...]``). Any reader can decode both with zlib, a JSON parser and typed arrays;
`decode_trace` is the Python reader. Columns instead of JSON make the encode of a 720-step episode
with a few hundred fills about three times cheaper (`benchmarks/bench_tracking.py`).
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

import numpy as np

__all__ = ["MAGIC", "MAGIC_V2", "decode_trace", "encode_trace", "fill_columns", "positions_from_fills"]

MAGIC = b"TRT1"
MAGIC_V2 = b"TRT2"
_ARRAYS = (("times", "<i8", 1), ("closes", "<f8", 2), ("equity", "<f8", 1), ("position", "<f8", 2))
_FILL_KEYS = ("symbol", "side", "quantity", "price", "fee", "time", "kind")
_FILL_ARRAYS = (("fill_time", "<i8"), ("fill_symbol", "<i4"), ("fill_side", "i1"), ("fill_quantity", "<f8"),
                ("fill_price", "<f8"), ("fill_fee", "<f8"), ("fill_kind", "i1"))


def fill_columns(fills: list[dict[str, Any]], symbols: list[str] | tuple[str, ...]) -> dict[str, Any] | None:
    """The fills as columns (`_FILL_ARRAYS` plus ``"kinds"``, the kind names), or None when a fill
    is not an env fill record (see the module doc): then only the JSON form keeps it exactly."""
    rows = [tuple(f.values()) for f in fills if type(f) is dict and tuple(f) == _FILL_KEYS]
    if len(rows) != len(fills) or not rows:
        return None
    sym, side, qty, price, fee, stamp, kind = zip(*rows, strict=True)
    col = {name: j for j, name in enumerate(symbols)}
    if not set(sym) <= col.keys() or not set(side) <= {"buy", "sell"}:
        return None
    if set(map(type, qty)) | set(map(type, price)) | set(map(type, fee)) != {float}:
        return None
    if set(map(type, kind)) != {str} or set(map(type, stamp)) != {str} or set(map(len, stamp)) != {20}:
        return None
    if any(t[10] != "T" or t[19] != "Z" for t in stamp):
        return None
    kinds = list(dict.fromkeys(kind))
    if len(kinds) > 127:
        return None
    code = {name: c for c, name in enumerate(kinds)}
    plain = [t[:19] for t in stamp]
    try:
        seconds = np.array(plain, dtype="datetime64[s]")
    except ValueError:
        return None
    if not (np.datetime_as_string(seconds, unit="s") == np.array(plain)).all():
        return None  # not the canonical form (the decoder would not give the same text back)
    return {
        "fill_time": seconds.astype("datetime64[ns]").astype(np.int64),
        "fill_symbol": np.array([col[name] for name in sym], dtype=np.int32),
        "fill_side": np.array([1 if sd == "buy" else -1 for sd in side], dtype=np.int8),
        "fill_quantity": np.array(qty, dtype=np.float64),
        "fill_price": np.array(price, dtype=np.float64),
        "fill_fee": np.array(fee, dtype=np.float64),
        "fill_kind": np.array([code[name] for name in kind], dtype=np.int8),
        "kinds": kinds,
    }


def positions_from_fills(
    times_ns: np.ndarray,
    fills: list[dict[str, Any]],
    symbols: list[str] | tuple[str, ...],
    time_to_ns: Any,
    side: str = "left",
    *,
    columns: dict[str, Any] | None = None,
) -> np.ndarray:
    """``(n, S)`` quantity held after each decision, rebuilt from the episode's fills.

    With ``side="left"`` a fill at time ``t`` counts from the first decision at or after ``t``; with
    ``side="right"`` from the first decision after ``t`` (a fill at the next bar's open carries the
    time of the decision that sent it). ``time_to_ns`` turns a fill's ``time`` (ISO string or ns) into ns
    (not needed for env fill records, which are read as columns: `fill_columns`, or ``columns``
    when the caller has them).
    """
    n = len(times_ns)
    pos = np.zeros((n, len(symbols)), dtype=np.float64)
    if not fills or n == 0:
        return pos
    cols = columns if columns is not None else fill_columns(fills, symbols)
    if cols is not None:  # the same sums from the columns (no per-fill Python work)
        k = np.minimum(np.searchsorted(times_ns, cols["fill_time"], side=side), n - 1)  # type: ignore[call-overload]
        delta = np.zeros_like(pos)
        np.add.at(delta, (k, cols["fill_symbol"]), cols["fill_quantity"] * cols["fill_side"])
        np.cumsum(delta, axis=0, out=pos)
        pos[np.abs(pos) < 1e-12] = 0.0
        return pos
    col = {s: j for j, s in enumerate(symbols)}
    keep = [f for f in fills if str(f.get("symbol")) in col]
    if not keep:
        return pos
    ts = np.fromiter((time_to_ns(f.get("time")) for f in keep), dtype=np.int64, count=len(keep))
    k = np.minimum(np.searchsorted(times_ns, ts, side=side), n - 1)  # type: ignore[call-overload]
    j = np.fromiter((col[str(f.get("symbol"))] for f in keep), dtype=np.int64, count=len(keep))
    q = np.fromiter((float(f.get("quantity", 0.0)) * (1.0 if str(f.get("side")) == "buy" else -1.0) for f in keep),
                    dtype=np.float64, count=len(keep))
    delta = np.zeros_like(pos)
    np.add.at(delta, (k, j), q)
    np.cumsum(delta, axis=0, out=pos)
    pos[np.abs(pos) < 1e-12] = 0.0
    return pos


def _plain(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        x = float(v)
        return x if np.isfinite(x) else None
    if isinstance(v, float):
        return v if np.isfinite(v) else None
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def encode_trace(
    *,
    times: np.ndarray,
    closes: np.ndarray,
    equity: np.ndarray,
    position: np.ndarray,
    fills: list[dict[str, Any]] | None = None,
    symbols: list[str] | tuple[str, ...] = (),
    meta: dict[str, Any] | None = None,
    level: int = 1,
    columns: dict[str, Any] | None = None,
) -> bytes:
    """Encode one episode's trace (see the module doc for the format).

    Args:
        times: ``(n,)`` decision times, ns UTC.
        closes: ``(n, S)`` or ``(n,)`` close prices at each decision.
        equity: ``(n,)`` equity after each decision (reset value first).
        position: ``(n, S)`` or ``(n,)`` quantities held.
        fills: the episode's fills (plain dicts).
        symbols: the ``S`` symbols.
        meta: extra JSON-able values (e.g. the episode number, reward sum).
        level: zlib level.
        columns: ``fill_columns(fills, symbols)`` when the caller has it already.

    Returns:
        The encoded bytes.

    Raises:
        ValueError: when the arrays' lengths disagree.
    """
    t = np.ascontiguousarray(times, dtype="<i8").reshape(-1)
    n = t.shape[0]
    arrays = {
        "times": t,
        "closes": np.ascontiguousarray(closes, dtype="<f8").reshape(n, -1) if n else np.zeros((0, max(len(symbols), 1))),
        "equity": np.ascontiguousarray(equity, dtype="<f8").reshape(-1),
        "position": np.ascontiguousarray(position, dtype="<f8").reshape(n, -1) if n else np.zeros((0, max(len(symbols), 1))),
    }
    if arrays["equity"].shape[0] != n:
        raise ValueError(f"equity has {arrays['equity'].shape[0]} values but times has {n}")
    cols = columns if columns is not None else fill_columns(list(fills or []), list(symbols)) if fills else None
    if cols is not None:
        specs = [(k, d) for k, d, _ in _ARRAYS] + list(_FILL_ARRAYS)
        for k, _d in _FILL_ARRAYS:
            arrays[k] = cols[k]
        header2 = {
            "version": 2,
            "symbols": list(symbols),
            "n": n,
            "n_fills": len(cols["fill_time"]),
            "fill_kinds": cols["kinds"],
            "arrays": [{"name": k, "dtype": d, "shape": list(arrays[k].shape)} for k, d in specs],
            "meta": _plain(dict(meta or {})),
        }
        hb = json.dumps(header2, separators=(",", ":"), allow_nan=False).encode()
        parts = [struct.pack("<I", len(hb)), hb]
        parts += [np.ascontiguousarray(arrays[k], dtype=d).tobytes() for k, d in specs]
        return MAGIC_V2 + zlib.compress(b"".join(parts), level)
    header = {
        "version": 1,
        "symbols": list(symbols),
        "n": n,
        "arrays": [{"name": k, "dtype": d, "shape": list(arrays[k].shape)} for k, d, _ in _ARRAYS],
        "fills": list(fills or []),
        "meta": _plain(dict(meta or {})),
    }
    try:  # fills are plain finite numbers and strings: no conversion needed
        hb = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError):
        header["fills"] = _plain(header["fills"])
        hb = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    parts = [struct.pack("<I", len(hb)), hb]
    for k, d, _ in _ARRAYS:
        parts.append(np.ascontiguousarray(arrays[k], dtype=d).tobytes())
    return MAGIC + zlib.compress(b"".join(parts), level)


def decode_trace(data: bytes) -> dict[str, Any]:
    """Decode `encode_trace` bytes into ``{"times", "closes", "equity", "position", "fills", "symbols", "meta"}``.

    Raises:
        ValueError: when ``data`` is not a version-1 trace.
    """
    magic = bytes(data[:4]) if isinstance(data, (bytes, bytearray, memoryview)) else b""
    if magic not in (MAGIC, MAGIC_V2):
        raise ValueError("not a tradeready trace (missing the TRT1 / TRT2 header)")
    raw = zlib.decompress(bytes(data[4:]))
    (hlen,) = struct.unpack_from("<I", raw, 0)
    header = json.loads(raw[4 : 4 + hlen].decode())
    if header.get("version") != (1 if magic == MAGIC else 2):
        raise ValueError(f"trace version {header.get('version')!r} is not supported; allowed: 1, 2")
    off = 4 + hlen
    out: dict[str, Any] = {}
    for spec in header["arrays"]:
        dtype = np.dtype(spec["dtype"])
        shape = tuple(int(s) for s in spec["shape"])
        count = int(np.prod(shape)) if shape else 1
        arr = np.frombuffer(raw, dtype=dtype, count=count, offset=off).reshape(shape).copy()
        off += count * dtype.itemsize
        out[spec["name"]] = arr
    if header["version"] == 2:
        out["fills"] = _fills_from_columns(out, header)
        for k, _d in _FILL_ARRAYS:
            del out[k]
    else:
        out["fills"] = header.get("fills", [])
    out["symbols"] = header.get("symbols", [])
    out["meta"] = header.get("meta", {})
    return out


def _fills_from_columns(arrays: dict[str, np.ndarray], header: dict[str, Any]) -> list[dict[str, Any]]:
    symbols = header.get("symbols", [])
    kinds = header.get("fill_kinds", [])
    stamps = np.datetime_as_string(arrays["fill_time"].astype("datetime64[ns]").astype("datetime64[s]"), unit="s")
    return [
        {"symbol": symbols[j], "side": "buy" if sd > 0 else "sell", "quantity": q, "price": px, "fee": fee,
         "time": t + "Z", "kind": kinds[kd]}
        for j, sd, q, px, fee, t, kd in zip(
            arrays["fill_symbol"].tolist(), arrays["fill_side"].tolist(), arrays["fill_quantity"].tolist(),
            arrays["fill_price"].tolist(), arrays["fill_fee"].tolist(), stamps.tolist(), arrays["fill_kind"].tolist(),
            strict=True,
        )
    ]

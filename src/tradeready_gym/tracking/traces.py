"""Compressed episode traces for replay: decision times, closes, equity, positions and fills.

Format (version 1), as stored in ``traces.data``::

    b"TRT1" + zlib.compress(
        uint32 little-endian length of the JSON header
        + JSON header (UTF-8): {"version": 1, "symbols": [...], "n": steps + 1,
                               "arrays": [{"name", "dtype", "shape"}, ...],
                               "fills": [{symbol, side, quantity, price, fee, time, ...}, ...],
                               "meta": {...}}
        + the arrays' raw little-endian bytes, in the order of "arrays"
    )

Arrays: ``times`` int64 ``(n,)`` decision times in ns UTC (the close time of each decision bar, reset
bar first); ``closes`` float64 ``(n, S)``; ``equity`` float64 ``(n,)``; ``position`` float64 ``(n, S)``,
the quantity held of each symbol after each decision (0 at reset). Any reader can decode it with
zlib, a JSON parser and typed arrays; `decode_trace` is the Python reader.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

import numpy as np

__all__ = ["MAGIC", "decode_trace", "encode_trace", "positions_from_fills"]

MAGIC = b"TRT1"
_ARRAYS = (("times", "<i8", 1), ("closes", "<f8", 2), ("equity", "<f8", 1), ("position", "<f8", 2))


def positions_from_fills(
    times_ns: np.ndarray,
    fills: list[dict[str, Any]],
    symbols: list[str] | tuple[str, ...],
    time_to_ns: Any,
    side: str = "left",
) -> np.ndarray:
    """``(n, S)`` quantity held after each decision, rebuilt from the episode's fills.

    With ``side="left"`` a fill at time ``t`` counts from the first decision at or after ``t``; with
    ``side="right"`` from the first decision after ``t`` (a fill at the next bar's open carries the
    time of the decision that sent it). ``time_to_ns`` turns a fill's ``time`` (ISO string or ns) into ns.
    """
    n = len(times_ns)
    pos = np.zeros((n, len(symbols)), dtype=np.float64)
    if not fills or n == 0:
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
    if not isinstance(data, (bytes, bytearray, memoryview)) or bytes(data[:4]) != MAGIC:
        raise ValueError("not a tradeready trace (missing the TRT1 header)")
    raw = zlib.decompress(bytes(data[4:]))
    (hlen,) = struct.unpack_from("<I", raw, 0)
    header = json.loads(raw[4 : 4 + hlen].decode())
    if header.get("version") != 1:
        raise ValueError(f"trace version {header.get('version')!r} is not supported; allowed: 1")
    off = 4 + hlen
    out: dict[str, Any] = {}
    for spec in header["arrays"]:
        dtype = np.dtype(spec["dtype"])
        shape = tuple(int(s) for s in spec["shape"])
        count = int(np.prod(shape)) if shape else 1
        arr = np.frombuffer(raw, dtype=dtype, count=count, offset=off).reshape(shape).copy()
        off += count * dtype.itemsize
        out[spec["name"]] = arr
    out["fills"] = header.get("fills", [])
    out["symbols"] = header.get("symbols", [])
    out["meta"] = header.get("meta", {})
    return out

"""Trace format 2 (fills as columns) and the JSON fallback (format 1)."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from tradeready_gym.tracking.traces import (
    MAGIC,
    MAGIC_V2,
    decode_trace,
    encode_trace,
    fill_columns,
    positions_from_fills,
)


def _fills() -> list[dict[str, object]]:
    return [
        {"symbol": "ETHUSDT", "side": "buy", "quantity": 0.5, "price": 2000.25, "fee": 1.0001, "time": "2024-01-01T01:00:00Z",
         "kind": "market"},
        {"symbol": "BTCUSDT", "side": "buy", "quantity": 0.01, "price": 42000.5, "fee": 0.42, "time": "2024-01-01T02:00:00Z",
         "kind": "limit"},
        {"symbol": "ETHUSDT", "side": "sell", "quantity": 0.5, "price": 2010.0, "fee": 1.005, "time": "2024-01-01T03:00:00Z",
         "kind": "take_profit"},
    ]


def _times() -> np.ndarray:
    return np.array([1704070800, 1704074400, 1704078000, 1704081600], dtype=np.int64) * 1_000_000_000


def test_env_fills_are_stored_as_columns_and_come_back_equal():
    fills = _fills()
    symbols = ["BTCUSDT", "ETHUSDT"]
    times = _times()
    pos = positions_from_fills(times, fills, symbols, None)
    # by hand: ETH +0.5 at 01:00, BTC +0.01 at 02:00, ETH -0.5 at 03:00 (side="left": from that decision on)
    np.testing.assert_array_equal(pos, [[0.0, 0.5], [0.01, 0.5], [0.01, 0.0], [0.01, 0.0]])
    data = encode_trace(times=times, closes=np.ones((4, 2)), equity=np.arange(4.0), position=pos, fills=fills,
                        symbols=symbols, meta={"episode": 7})
    assert data[:4] == MAGIC_V2
    raw = zlib.decompress(data[4:])
    (hlen,) = struct.unpack_from("<I", raw, 0)
    assert b'"fill_kinds":["market","limit","take_profit"]' in raw[4 : 4 + hlen]
    assert b'"fills"' not in raw[4 : 4 + hlen]
    out = decode_trace(data)
    assert out["fills"] == fills
    assert [list(f) for f in out["fills"]] == [list(f) for f in fills]  # key order too
    np.testing.assert_array_equal(out["position"], pos)
    assert out["meta"] == {"episode": 7} and out["symbols"] == symbols
    assert set(out) == {"times", "closes", "equity", "position", "fills", "symbols", "meta"}


@pytest.mark.parametrize(
    "change",
    [
        {"time": 1704070800000000000},  # ns, not text
        {"time": "2024-01-01T01:00:00.5Z"},  # not the canonical second form
        {"time": "2024-01-01 01:00:00Z"},
        {"symbol": "SOLUSDT"},  # not one of the trace's symbols
        {"quantity": 1},  # an int
        {"side": "long"},
    ],
)
def test_other_fills_keep_the_json_form(change):
    fills = _fills()
    fills[1] = {**fills[1], **change}
    assert fill_columns(fills, ["BTCUSDT", "ETHUSDT"]) is None
    times = _times()
    data = encode_trace(times=times, closes=np.ones((4, 2)), equity=np.arange(4.0), position=np.zeros((4, 2)),
                        fills=fills, symbols=["BTCUSDT", "ETHUSDT"])
    assert data[:4] == MAGIC
    assert decode_trace(data)["fills"] == fills


def test_extra_or_missing_keys_keep_the_json_form():
    fills = _fills()
    assert fill_columns([{**fills[0], "order_id": 3}], ["ETHUSDT"]) is None
    short = dict(fills[0])
    del short["kind"]
    assert fill_columns([short], ["ETHUSDT"]) is None


def test_a_version_mismatch_is_refused():
    data = encode_trace(times=_times(), closes=np.ones((4, 2)), equity=np.arange(4.0), position=np.zeros((4, 2)),
                        fills=_fills(), symbols=["BTCUSDT", "ETHUSDT"])
    with pytest.raises(ValueError, match="not supported"):
        decode_trace(MAGIC + data[4:])  # a format-2 body behind the format-1 magic
    with pytest.raises(ValueError, match="TRT1 / TRT2"):
        decode_trace(b"TRT3" + data[4:])

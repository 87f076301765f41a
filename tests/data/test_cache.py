"""The Parquet cache: round trip, coverage, merging, atomic writes, concurrent writers and readers."""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeready_gym.data import CandleCache, MarketData, default_data_dir, generate_synthetic, import_data
from tradeready_gym.data.cache import merge_ranges, missing_ranges
from tradeready_gym.errors import DataError, DataNotFoundError
from tradeready_gym.timeframes import parse_time

from .test_readers import assert_same

H = 3_600_000_000_000


def test_default_dir_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRADEREADY_DATA_DIR", str(tmp_path / "c"))
    assert default_data_dir() == tmp_path / "c"
    assert CandleCache().root == tmp_path / "c"
    monkeypatch.delenv("TRADEREADY_DATA_DIR")
    assert "tradeready-gym" in str(default_data_dir())


def test_ranges() -> None:
    assert merge_ranges([(5, 7), (0, 2), (2, 4), (6, 9)]) == [(0, 4), (5, 9)]
    assert missing_ranges([(0, 4), (5, 9)], 1, 12) == [(4, 5), (9, 12)]
    assert missing_ranges([(0, 4)], 1, 3) == []
    assert missing_ranges([], 1, 3) == [(1, 3)]


def test_roundtrip_keeps_every_column(btc_1h: MarketData, tmp_path: Path) -> None:
    cache = CandleCache(tmp_path)
    [path] = cache.write(btc_1h, source="test")
    assert path == tmp_path / "spot" / "BTCUSDT" / "BTCUSDT-1h.parquet"
    assert_same(cache.read("BTCUSDT", "1h"), btc_1h)
    part = cache.read("BTCUSDT", "1h", parse_time("2024-03-01"), parse_time("2024-03-02"))
    assert part.n_bars == 24 and part.open_time[0] == parse_time("2024-03-01")
    assert cache.coverage("BTCUSDT", "1h") == [(int(btc_1h.open_time[0]), int(btc_1h.open_time[-1]) + H)]
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_merge_pieces_and_coverage(btc_1h: MarketData, tmp_path: Path) -> None:
    cache = CandleCache(tmp_path)
    a, b, c = (
        btc_1h.slice(None, "2024-02-01"),
        btc_1h.slice("2024-03-01", "2024-04-01"),
        btc_1h.slice("2024-01-15", "2024-03-05"),
    )
    for piece in (b, a, c):
        cache.write(piece, source="test")
    assert_same(cache.read("BTCUSDT", "1h", None, parse_time("2024-04-01")), btc_1h.slice(None, "2024-04-01"))
    assert cache.missing("BTCUSDT", "1h", parse_time("2024-01-01"), parse_time("2024-05-01")) == [
        (parse_time("2024-04-01"), parse_time("2024-05-01"))
    ]


def test_import_without_extras_merges_with_extras(shared_data: Path, tmp_path: Path) -> None:
    """A freqtrade file (no quote volume) and a REST file (with it) share one cache file."""
    import_data(
        shared_data / "raw" / "freqtrade_binance_spot_2021" / "BTC_USDT-1h.json.gz", data_dir=tmp_path
    )
    rest = shared_data / "raw" / "binance_spot_rest_klines" / "BTCUSDT" / "1h" / "2022-01-01.json.gz"
    import_data(rest, data_dir=tmp_path)
    cache = CandleCache(tmp_path)
    old = cache.read("BTCUSDT", "1h", None, parse_time("2021-07-01"))
    new = cache.read("BTCUSDT", "1h", parse_time("2022-01-01"), None)
    assert "quote_volume" not in old.extra  # NaN there: dropped for that range
    assert "quote_volume" in new.extra and new.n_bars == 744
    whole = cache.read("BTCUSDT", "1h")
    assert whole.extra == {}


def test_missing_symbol_is_data_not_found(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="symbol='BTCUSDT' timeframe='1h'"):
        CandleCache(tmp_path).read("BTCUSDT", "1h")


def test_synthetic_never_stored_under_a_real_name(tmp_path: Path) -> None:
    cache = CandleCache(tmp_path)
    syn = generate_synthetic(10, seed=1)
    cache.write(syn, source="synthetic")
    assert cache.read("SYNTH-1", "1h").synthetic
    real_named = MarketData(
        ("BTCUSDT",), "1h", syn.open_time, syn.open, syn.high, syn.low, syn.close, syn.volume, synthetic=True
    )
    with pytest.raises(DataError, match="cannot cache synthetic candles as symbol='BTCUSDT'"):
        cache.write(real_named, source="x")
    assert not cache.has("BTCUSDT", "1h")


def test_failed_write_leaves_old_file(
    btc_1h: MarketData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.parquet as pq

    cache = CandleCache(tmp_path)
    [path] = cache.write(btc_1h.slice(None, "2024-02-01"), source="test")
    before = path.read_bytes()

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", boom)
    with pytest.raises(OSError, match="disk full"):
        cache.write(btc_1h.slice("2024-02-01", "2024-03-01"), source="test")
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, path.name + ".lock"]


def _writer(root: str, month: int) -> None:
    md = generate_synthetic(24 * 28, timeframe="1h", seed=month, start=f"2024-{month:02d}-01")
    CandleCache(root).write(md, source=f"m{month}")


def _reader(root: str, rounds: int, q: mp.Queue) -> None:  # type: ignore[type-arg]
    errors = 0
    for _ in range(rounds):
        try:
            CandleCache(root).read("SYNTH-1", "1h")
        except DataNotFoundError:
            pass
        except Exception:
            errors += 1
    q.put(errors)


def test_concurrent_writers_and_readers(tmp_path: Path) -> None:
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    readers = [ctx.Process(target=_reader, args=(str(tmp_path), 60, q)) for _ in range(2)]
    writers = [ctx.Process(target=_writer, args=(str(tmp_path), m)) for m in range(1, 7)]
    for p in (*readers, *writers):
        p.start()
    for p in (*readers, *writers):
        p.join(60)
        assert p.exitcode == 0
    assert [q.get(timeout=5) for _ in readers] == [0, 0]
    cache = CandleCache(tmp_path)
    md = cache.read("SYNTH-1", "1h")
    assert md.n_bars == 6 * 24 * 28  # every writer's bars survived
    assert len(cache.coverage("SYNTH-1", "1h")) == 6
    assert not [p for p in os.listdir(tmp_path / "spot" / "SYNTH-1") if p.endswith(".tmp")]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cuts=st.lists(st.integers(1, 4367), min_size=1, max_size=6, unique=True),
    order=st.randoms(use_true_random=False),
)
def test_any_split_written_in_any_order_reads_back_identical(
    btc_1h: MarketData, tmp_path_factory: pytest.TempPathFactory, cuts: list[int], order: object
) -> None:
    """Real candles cut into overlapping pieces and cached in random order read back bit for bit."""
    bounds = [0, *sorted(cuts), btc_1h.n_bars]
    pieces = [btc_1h.iloc(max(a - 3, 0), b) for a, b in itertools.pairwise(bounds) if b > a]
    order.shuffle(pieces)  # type: ignore[attr-defined]
    cache = CandleCache(tmp_path_factory.mktemp("prop"))
    for p in pieces:
        cache.write(p, source="piece")
    assert_same(cache.read("BTCUSDT", "1h"), btc_1h)
    assert cache.coverage("BTCUSDT", "1h") == [(int(btc_1h.open_time[0]), int(btc_1h.open_time[-1]) + H)]

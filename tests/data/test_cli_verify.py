"""``tradeready data verify`` on a real cache and on corrupted copies; the rich download progress."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from conftest import REAL_CACHE_SYMBOLS, REAL_CACHE_TIMEFRAMES
from tradeready_gym import _cli_data
from tradeready_gym.data.download import download
from tradeready_gym.timeframes import format_iso, timeframe_ns

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    res = runner.invoke(_cli_data.app, list(args))
    return res.exit_code, res.stdout, res.stderr


def _file(root: Path, symbol: str, tf: str) -> Path:
    return root / "spot" / symbol / f"{symbol}-{tf}.parquet"


@pytest.fixture
def cache_copy(real_cache: Path, tmp_path: Path) -> Path:
    """A private copy of the real cache that a test may damage."""
    dst = tmp_path / "cache"
    shutil.copytree(real_cache, dst)
    return dst


def _independent_gaps(path: Path, tf: str) -> list[tuple[int, int]]:
    """(first missing open time, missing bars) straight from the Parquet column, without the library."""
    ot = pq.read_table(path, columns=["open_time"]).column("open_time").to_numpy()
    iv = timeframe_ns(tf)
    d = np.diff(ot)
    return [(int(ot[i]) + iv, int(d[i] // iv) - 1) for i in np.flatnonzero(d > iv)]


def test_the_real_cache_verifies_with_its_gaps_reported(real_cache: Path) -> None:
    code, out, err = run("verify", "--data-dir", str(real_cache), "--json", "--max-gaps", "2")
    assert code == 0, out + err
    report = json.loads(out)
    assert report["ok"] is True and report["root"] == str(real_cache)
    files = report["files"]
    assert sorted((f["symbol"], f["timeframe"]) for f in files) == sorted(
        (s, t) for s in REAL_CACHE_SYMBOLS for t in REAL_CACHE_TIMEFRAMES
    )
    total_gaps = 0
    for f in files:
        path = Path(f["path"])
        assert f["ok"] and f["error"] is None
        assert f["bars"] == pq.ParquetFile(path).metadata.num_rows
        expected = _independent_gaps(path, f["timeframe"])
        total_gaps += len(expected)
        assert f["gaps"] == len(expected)
        assert f["missing_bars"] == sum(n for _, n in expected)
        assert [(g["start"], g["missing_bars"]) for g in f["first_gaps"]] == [
            (format_iso(t), n) for t, n in expected[:2]
        ]
    assert total_gaps > 0  # real exchange outages exist in the shared candles
    btc = next(f for f in files if (f["symbol"], f["timeframe"]) == ("BTCUSDT", "1h"))
    assert btc["first_gaps"][0] == {"start": "2023-03-24T13:00:00Z", "end": "2023-03-24T14:00:00Z",
                                    "missing_bars": 1, "symbols": ["BTCUSDT"], "filled": False}


def test_table_output_and_filters(real_cache: Path) -> None:
    code, out, _ = run("verify", "BTCUSDT", "ETHUSDT", "--timeframe", "1h", "--data-dir", str(real_cache))
    assert code == 0, out
    assert "BTCUSDT" in out and "ETHUSDT" in out and "SOLUSDT" not in out
    assert " 4h " not in out and " 1d " not in out
    assert "2 of 2 files ok" in out
    assert "FAIL" not in out


def _rewrite(path: Path, edit) -> None:
    """Rewrite a cache file with one column changed, keeping its schema metadata (coverage etc.)."""
    table = pq.read_table(path)
    cols = {n: table.column(n).to_numpy().copy() for n in table.column_names}
    edit(cols)
    out = pa.table({n: pa.array(v) for n, v in cols.items()}).replace_schema_metadata(table.schema.metadata)
    pq.write_table(out, path)


def _bad_high(c: dict) -> None:
    c["high"][100] = min(c["open"][100], c["close"][100]) * 0.5


def _nan_close(c: dict) -> None:
    c["close"][7] = np.nan


def _negative_low(c: dict) -> None:
    c["low"][3] = -1.0


def _duplicate_time(c: dict) -> None:
    c["open_time"][51] = c["open_time"][50]


def _unsorted(c: dict) -> None:
    c["open_time"][[20, 21]] = c["open_time"][[21, 20]]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_bad_high, "high < max(open, close)"),
        (_nan_close, "close of ETHUSDT at"),
        (_negative_low, "prices must be > 0"),
        (_duplicate_time, "duplicate row at index 51"),
        (_unsorted, "unsorted row at index 21"),
    ],
)
def test_a_bad_row_fails_naming_the_file(cache_copy: Path, edit, message: str) -> None:
    bad = _file(cache_copy, "ETHUSDT", "4h")
    _rewrite(bad, edit)
    code, out, _ = run("verify", "--data-dir", str(cache_copy))
    assert code == 1
    fail_lines = [ln for ln in out.splitlines() if ln.startswith("FAIL ")]
    assert len(fail_lines) == 1, out
    assert str(bad) in fail_lines[0] and message in fail_lines[0]
    assert f"{len(REAL_CACHE_SYMBOLS) * len(REAL_CACHE_TIMEFRAMES) - 1} of 9 files ok, 1 failed" in out

    code, out, err = run("verify", "--data-dir", str(cache_copy), "--json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    failed = [f for f in report["files"] if not f["ok"]]
    assert [(f["symbol"], f["timeframe"], f["path"]) for f in failed] == [("ETHUSDT", "4h", str(bad))]
    assert message in failed[0]["error"] and str(bad) in err


def test_a_bad_high_names_the_bar_time(cache_copy: Path) -> None:
    bad = _file(cache_copy, "SOLUSDT", "1d")
    t = format_iso(int(pq.read_table(bad).column("open_time").to_numpy()[100]))
    _rewrite(bad, _bad_high)
    code, out, _ = run("verify", "SOLUSDT", "-t", "1d", "--data-dir", str(cache_copy))
    assert code == 1 and f"inconsistent OHLC for SOLUSDT at {t}: high < max(open, close)" in out


def test_a_truncated_file_fails_naming_the_file(cache_copy: Path) -> None:
    bad = _file(cache_copy, "BTCUSDT", "1h")
    data = bad.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    code, out, _ = run("verify", "--data-dir", str(cache_copy))
    assert code == 1
    fail_lines = [ln for ln in out.splitlines() if ln.startswith("FAIL ")]
    assert len(fail_lines) == 1 and str(bad) in fail_lines[0] and "is unreadable" in fail_lines[0]
    # the other files are still checked and reported
    assert "8 of 9 files ok, 1 failed" in out


def test_a_file_without_candle_columns_fails(cache_copy: Path) -> None:
    bad = _file(cache_copy, "SOLUSDT", "4h")
    pq.write_table(pa.table({"x": [1.0, 2.0]}), bad)
    code, out, _ = run("verify", "SOLUSDT", "--data-dir", str(cache_copy))
    assert code == 1
    assert f"FAIL cache file {str(bad)!r} is not a candle file" in out


def test_missing_symbol_and_bad_arguments(real_cache: Path, tmp_path: Path) -> None:
    code, out, _ = run("verify", "XRPUSDT", "-t", "1h", "--data-dir", str(real_cache))
    assert code == 1 and "XRPUSDT-1h.parquet: not cached (fetch it with: tradeready data download XRPUSDT" in out
    code, _, err = run("verify", "-t", "7m", "--data-dir", str(real_cache))
    assert code == 1 and "timeframe='7m' is not supported" in err
    code, _, err = run("verify", "BTC USDT", "--data-dir", str(real_cache))
    assert code == 1 and "symbols='BTC USDT' is not allowed" in err
    code, out, _ = run("verify", "--data-dir", str(tmp_path / "empty"))
    assert code == 0 and "nothing to verify" in out


def test_download_draws_a_rich_progress_bar(vision_server: tuple[str, list[str]], tmp_path: Path) -> None:
    code, out, err = run(
        "download", "ETHUSDT", "-t", "4h", "--start", "2024-02-01", "--end", "2024-04-01",
        "--data-dir", str(tmp_path), "--vision-url", vision_server[0], "--source", "vision",
    )
    assert code == 0, out + err
    assert "ETHUSDT 4h: 360 new bars from 2 requests" in out
    assert "ETHUSDT 4h" in err and "2/2 requests" in err  # rich's final render on stderr
    assert "it/s" not in err and "file/s" not in err  # not tqdm


def test_the_library_reports_progress_through_a_callback(
    vision_server: tuple[str, list[str]], tmp_path: Path
) -> None:
    calls: list[tuple[str, str, int, int]] = []
    download("ETHUSDT", "4h", "2024-02-01", "2024-04-01", data_dir=tmp_path, source="vision",
             vision_url=vision_server[0], progress=False, now="2025-01-01",
             on_progress=lambda *a: calls.append(a))
    assert calls[0] == ("ETHUSDT", "4h", 0, 2)
    assert calls[-1] == ("ETHUSDT", "4h", 2, 2)
    assert [c[2] for c in calls] == sorted(c[2] for c in calls)

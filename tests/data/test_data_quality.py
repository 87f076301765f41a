"""Nothing about the candles is resolved silently: missing bars, time zones, mislabelled files, bad symbols."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tradeready_gym import _cli_data
from tradeready_gym.data import DataQualityWarning, MarketData, import_data, load_market_data, missing_bars
from tradeready_gym.data.cache import CandleCache
from tradeready_gym.errors import ConfigError, DataError

from .servers import KlinesServer, serve_directory

runner = CliRunner()
ZIP = "binance-vision/data/spot/daily/klines/ETHUSDT/1h/ETHUSDT-1h-2025-07-01.zip"


def run(*args: str) -> tuple[int, str, str]:
    res = runner.invoke(_cli_data.app, list(args))
    return res.exit_code, res.stdout, res.stderr


# ---------------------------------------------------------------- missing bars
def test_real_data_loads_without_a_warning(btc_1h: MarketData) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        md = load_market_data("BTCUSDT", "1h", data=btc_1h)
    span, missing = missing_bars(md)
    assert span == md.n_bars + int(missing[0]) and missing[0] < 0.01 * span


def test_many_missing_bars_warn(btc_1h: MarketData) -> None:
    rng = np.random.default_rng(0)
    keep = np.sort(rng.choice(btc_1h.n_bars, size=int(btc_1h.n_bars * 0.8), replace=False))
    keep[0], keep[-1] = 0, btc_1h.n_bars - 1
    holed = btc_1h.take(np.unique(keep))
    with pytest.warns(DataQualityWarning, match=r"BTCUSDT 1h: \d+ of the 4368 bars .* are missing \(2\d\.\d%\)"):
        load_market_data("BTCUSDT", "1h", data=holed)
    # forward-filled bars are not real candles either
    with pytest.warns(DataQualityWarning, match="missing"):
        md = load_market_data("BTCUSDT", "1h", data=holed, gaps="ffill")
    assert md.n_bars == 4368


# ---------------------------------------------------------------- time index
def test_a_tz_naive_index_is_reported(btc_1h: MarketData) -> None:
    df = btc_1h.to_dataframe()
    naive = df.tz_localize(None)
    with pytest.warns(DataQualityWarning, match="DatetimeIndex has no time zone; it is read as UTC"):
        md = load_market_data("BTCUSDT", "1h", data=naive)
    assert np.array_equal(md.open_time, btc_1h.open_time)  # read as UTC, as the warning says
    with pytest.warns(DataQualityWarning, match="no time zone"):
        MarketData.from_dataframes({"BTCUSDT": naive})
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        load_market_data("BTCUSDT", "1h", data=df)  # an aware index is silent


def test_an_open_time_column_that_disagrees_with_the_index_is_an_error(btc_1h: MarketData) -> None:
    df = btc_1h.to_dataframe()
    same = df.assign(open_time=df.index)
    assert load_market_data("BTCUSDT", "1h", data=same).n_bars == btc_1h.n_bars
    shifted = df.assign(open_time=df.index + np.timedelta64(1, "h"))
    with pytest.raises(DataError, match=r"'open_time' column and the DatetimeIndex disagree at row 0 \(2024-01-01T01"):
        load_market_data("BTCUSDT", "1h", data=shifted)
    with pytest.raises(DataError, match="disagree"):
        MarketData.from_dataframes({"BTCUSDT": shifted})


# ---------------------------------------------------------------- import: the file name's symbol
def test_import_refuses_a_file_named_for_another_symbol(shared_data: Path, tmp_path: Path) -> None:
    src = tmp_path / "in" / Path(ZIP).name
    src.parent.mkdir()
    shutil.copy(shared_data / ZIP, src)
    cache = tmp_path / "cache"
    code, _, err = run("import", str(src), "--symbol", "BTCUSDT", "--data-dir", str(cache))
    assert code == 1
    assert "symbol='BTCUSDT' is not allowed" in err and "its name says 'ETHUSDT'" in err and "--force" in err
    assert not list(cache.rglob("*.parquet"))
    code, _, err = run("import", str(src), "-t", "4h", "--data-dir", str(cache))
    assert code == 1 and "its name says '1h'" in err
    assert not list(cache.rglob("*.parquet"))
    # the right symbol, in another spelling, is accepted
    code, out, _ = run("import", str(src), "--symbol", "eth/usdt", "--data-dir", str(cache))
    assert code == 0 and "ETHUSDT 1h 24 bars" in out
    # forced: stored under the name the user insists on
    code, out, _ = run("import", str(src), "--symbol", "BTCUSDT", "--force", "--data-dir", str(cache))
    assert code == 0 and "BTCUSDT 1h 24 bars" in out
    assert CandleCache(cache).has("BTCUSDT", "1h")
    with pytest.raises(ConfigError, match="its name says 'ETHUSDT'"):
        import_data(src, symbol="SOLUSDT", data_dir=cache)


# ---------------------------------------------------------------- download: symbols checked offline
@pytest.mark.parametrize("bad", ["BTC$USDT", "BTC USDT", "SYNTH-1", "B"])
def test_download_checks_the_symbol_before_any_request(shared_data: Path, tmp_path: Path, bad: str) -> None:
    with serve_directory(shared_data / "binance-vision") as (vision_url, requested), KlinesServer(shared_data) as api:
        code, _, err = run(
            "download", "BTCUSDT", bad, "--start", "2025-07-01", "--end", "2025-07-02",
            "--vision-url", vision_url, "--api-url", api.url, "--data-dir", str(tmp_path), "--no-progress",
        )
        assert code == 1 and err.startswith("error: ") and repr(bad) in err
        assert requested == [] and api.requests == []
    assert not list(tmp_path.rglob("*.parquet"))


def test_download_accepts_other_spellings_of_a_symbol(shared_data: Path, tmp_path: Path) -> None:
    from tradeready_gym.data.download import download

    with serve_directory(shared_data / "binance-vision") as (vision_url, requested):
        (res,) = download(
            "eth/usdt", "1h", "2025-07-01", "2025-07-02", source="vision", vision_url=vision_url,
            data_dir=tmp_path, progress=False, now="2025-07-10",
        )
    assert (res.symbol, res.bars) == ("ETHUSDT", 24)
    assert any("ETHUSDT-1h-2025-07-01.zip" in r for r in requested)

"""The downloader through its real HTTP code path, against real local servers on 127.0.0.1."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import rest_market
from tradeready_gym.data import CandleCache, load_market_data
from tradeready_gym.data.download import RetryPolicy, download
from tradeready_gym.errors import ChecksumError, ConfigError, DataError, DataNotFoundError, DownloadError
from tradeready_gym.timeframes import parse_time

from .servers import KlinesServer, closed_port, serve_directory, truncating_server
from .test_readers import assert_same

NOW = "2025-07-04T05:30:00Z"  # the "current" time of these tests: July 2025 is the current month


def fast(sleeps: list[float], retries: int = 2) -> RetryPolicy:
    return RetryPolicy(retries=retries, backoff=0.001, sleep=sleeps.append)


def monthly(symbol: str, tf: str) -> Path:
    return Path("data/spot/monthly/klines") / symbol / tf


def nothing_cached(root: Path) -> bool:
    return not list(root.rglob("*.parquet")) and not list(root.rglob("*.tmp"))


def test_vision_monthly_ms_and_us_files_equal_source_rows(
    vision_server: tuple[str, list[str]], tmp_path: Path, sleeps: list[float]
) -> None:
    url, requested = vision_server
    [res] = download(
        "BTCUSDT",
        "1h",
        "2024-11-01",
        "2025-03-01",
        data_dir=tmp_path,
        source="vision",
        vision_url=url,
        now=NOW,
        progress=False,
        retry=fast(sleeps),
    )
    got = CandleCache(tmp_path).read("BTCUSDT", "1h")
    assert_same(
        got, rest_market("BTCUSDT", "1h", "2024-11-01", "2025-03-01")
    )  # 2024: ms files, 2025: µs files
    assert res.bars == got.n_bars == (30 + 31 + 31 + 28) * 24
    assert sorted(requested) == sorted(
        f"/{monthly('BTCUSDT', '1h')}/BTCUSDT-1h-{m}.zip{c}"
        for m in ("2024-11", "2024-12", "2025-01", "2025-02")
        for c in ("", ".CHECKSUM")
    )
    assert sleeps == []


def test_auto_monthly_then_daily_then_rest_drops_open_candle(
    vision_server: tuple[str, list[str]], klines_server: KlinesServer, tmp_path: Path, sleeps: list[float]
) -> None:
    url, requested = vision_server
    kw = dict(
        data_dir=tmp_path,
        vision_url=url,
        api_url=klines_server.url,
        now=NOW,
        progress=False,
        retry=fast(sleeps),
    )
    download("ETHUSDT", "1h", "2025-05-01", "2025-07-05", **kw)
    got = CandleCache(tmp_path).read("ETHUSDT", "1h")
    # the 05:00 candle is still open at 05:30: dropped; everything before equals the source rows
    want = rest_market("ETHUSDT", "1h", "2025-05-01", "2025-07-04T05:00:00Z")
    assert_same(got, want)
    assert [p.rsplit("/", 1)[-1] for p in requested if p.endswith(".zip")] == [
        "ETHUSDT-1h-2025-05.zip",
        "ETHUSDT-1h-2025-06.zip",
        "ETHUSDT-1h-2025-07-01.zip",
        "ETHUSDT-1h-2025-07-02.zip",
        "ETHUSDT-1h-2025-07-03.zip",
    ]
    assert [r["startTime"] for r in klines_server.requests] == [str(parse_time("2025-07-04") // 1_000_000)]
    assert CandleCache(tmp_path).coverage("ETHUSDT", "1h") == [
        (parse_time("2025-05-01"), parse_time("2025-07-04T05:00:00Z"))
    ]

    # ranges already cached are not fetched again
    n_files, n_rest = len(requested), len(klines_server.requests)
    download("ETHUSDT", "1h", "2025-05-10", "2025-07-04T05:00Z", **kw)
    assert (len(requested), len(klines_server.requests)) == (n_files, n_rest)
    # extending the range fetches only the new part
    download("ETHUSDT", "1h", "2025-04-01", "2025-07-04T05:00Z", **kw)
    assert [p.rsplit("/", 1)[-1] for p in requested[n_files:]] == [
        "ETHUSDT-1h-2025-04.zip",
        "ETHUSDT-1h-2025-04.zip.CHECKSUM",
    ]
    assert len(klines_server.requests) == n_rest
    assert_same(
        CandleCache(tmp_path).read("ETHUSDT", "1h"),
        rest_market("ETHUSDT", "1h", "2025-04-01", "2025-07-04T05:00Z"),
    )


def test_rest_pagination_and_retry_after(
    klines_server: KlinesServer, tmp_path: Path, sleeps: list[float]
) -> None:
    klines_server.rate_limit_once = True
    klines_server.retry_after = "1"
    [res] = download(
        "SOLUSDT",
        "1h",
        "2024-01-01",
        "2024-04-01",
        data_dir=tmp_path,
        source="rest",
        api_url=klines_server.url,
        now=NOW,
        progress=False,
        retry=fast(sleeps),
    )
    assert sleeps == [1.0]  # the server's Retry-After was honoured
    pages = klines_server.requests[1:]
    assert [r["limit"] for r in pages] == ["1000"] * 3  # 2184 bars: 1000 + 1000 + 184
    assert res.bars == 2184
    assert_same(
        CandleCache(tmp_path).read("SOLUSDT", "1h"), rest_market("SOLUSDT", "1h", "2024-01-01", "2024-04-01")
    )


def test_env_vars_set_the_base_urls(
    vision_server: tuple[str, list[str]],
    klines_server: KlinesServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRADEREADY_BINANCE_VISION_URL", vision_server[0])
    monkeypatch.setenv("TRADEREADY_BINANCE_API_URL", klines_server.url)
    monkeypatch.setenv("TRADEREADY_DATA_DIR", str(tmp_path))
    download("BTCUSDT", "1d", "2025-05-01", "2025-07-04", now=NOW, progress=False)
    md = load_market_data("BTCUSDT", "1d", "2025-05-01", "2025-07-04")
    assert_same(md, rest_market("BTCUSDT", "1d", "2025-05-01", "2025-07-04"))
    assert (
        vision_server[1] and klines_server.requests
    )  # June from the dumps, July (no 1d daily files) from REST


def test_load_market_data_download_true(
    vision_server: tuple[str, list[str]],
    klines_server: KlinesServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRADEREADY_BINANCE_VISION_URL", vision_server[0])
    with pytest.raises(DataNotFoundError, match="tradeready data download SOLUSDT --timeframe 4h"):
        load_market_data("SOLUSDT", "4h", "2024-02-01", "2024-04-01", data_dir=tmp_path)
    md = load_market_data(
        ["SOLUSDT"],
        "4h",
        "2024-02-01",
        "2024-04-01",
        data_dir=tmp_path,
        download=True,
        base_url=klines_server.url,
    )
    assert_same(md, rest_market("SOLUSDT", "4h", "2024-02-01", "2024-04-01"))
    assert klines_server.requests == []  # complete months came from the dumps


# ---------------------------------------------------------------------- bad input and failures


def test_unknown_symbol_rest_400(klines_server: KlinesServer, tmp_path: Path, sleeps: list[float]) -> None:
    with pytest.raises(
        DownloadError, match=r"symbol='FOOUSDT' is not known to .*HTTP 400, code -1121: Invalid symbol\."
    ):
        download(
            "FOOUSDT",
            "1h",
            "2024-01-01",
            "2024-01-02",
            data_dir=tmp_path,
            source="rest",
            api_url=klines_server.url,
            now=NOW,
            progress=False,
            retry=fast(sleeps),
        )
    assert nothing_cached(tmp_path)


def test_unknown_symbol_vision_404(
    vision_server: tuple[str, list[str]], tmp_path: Path, sleeps: list[float]
) -> None:
    with pytest.raises(DownloadError, match=r"no candles for symbol='FOOUSDT' timeframe='1h'.*returned 404"):
        download(
            "FOOUSDT",
            "1h",
            "2024-01-01",
            "2024-03-01",
            data_dir=tmp_path,
            source="vision",
            vision_url=vision_server[0],
            now=NOW,
            progress=False,
            retry=fast(sleeps),
        )
    assert nothing_cached(tmp_path)


def _copy_months(shared: Path, dest: Path, symbol: str, tf: str, months: list[str]) -> Path:
    folder = dest / monthly(symbol, tf)
    folder.mkdir(parents=True)
    src = shared / "binance-vision" / monthly(symbol, tf)
    for m in months:
        for suffix in ("", ".CHECKSUM"):
            shutil.copy(src / f"{symbol}-{tf}-{m}.zip{suffix}", folder)
    return folder


def test_checksum_mismatch_caches_nothing(shared_data: Path, tmp_path: Path, sleeps: list[float]) -> None:
    site, cache = tmp_path / "site", tmp_path / "cache"
    folder = _copy_months(shared_data, site, "BTCUSDT", "4h", ["2024-03", "2024-04"])
    bad = folder / "BTCUSDT-4h-2024-04.zip.CHECKSUM"
    good_text = bad.read_text()
    bad.write_text(f"{'0' * 64}  BTCUSDT-4h-2024-04.zip\n")
    with serve_directory(site) as (url, requested):
        kw = dict(
            data_dir=cache, source="vision", vision_url=url, now=NOW, progress=False, retry=fast(sleeps)
        )
        with pytest.raises(
            ChecksumError, match=r"checksum mismatch for .*BTCUSDT-4h-2024-04\.zip.*nothing was written"
        ):
            download("BTCUSDT", "4h", "2024-04-01", "2024-05-01", **kw)
        assert nothing_cached(cache)
        # with a good month before it: the good month is kept, the bad one is not
        with pytest.raises(ChecksumError):
            download("BTCUSDT", "4h", "2024-03-01", "2024-05-01", **kw)
        c = CandleCache(cache)
        assert c.coverage("BTCUSDT", "4h") == [(parse_time("2024-03-01"), parse_time("2024-04-01"))]
        assert c.read("BTCUSDT", "4h").describe()["end"] == "2024-03-31T20:00:00Z"
        # once the file is right, only the missing month is fetched
        bad.write_text(good_text)
        n = len(requested)
        download("BTCUSDT", "4h", "2024-03-01", "2024-05-01", **kw)
        assert [p.rsplit("/", 1)[-1] for p in requested[n:]] == [
            "BTCUSDT-4h-2024-04.zip",
            "BTCUSDT-4h-2024-04.zip.CHECKSUM",
        ]
    assert_same(c.read("BTCUSDT", "4h"), rest_market("BTCUSDT", "4h", "2024-03-01", "2024-05-01"))


def test_corrupt_zip_with_matching_checksum(shared_data: Path, tmp_path: Path, sleeps: list[float]) -> None:
    site, cache = tmp_path / "site", tmp_path / "cache"
    folder = _copy_months(shared_data, site, "ETHUSDT", "1d", ["2024-05"])
    z = folder / "ETHUSDT-1d-2024-05.zip"
    data = bytearray(z.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\x00" * 64  # damage the compressed stream
    z.write_bytes(bytes(data))
    (folder / "ETHUSDT-1d-2024-05.zip.CHECKSUM").write_text(f"{hashlib.sha256(data).hexdigest()}  {z.name}\n")
    with serve_directory(site) as (url, _), pytest.raises(DataError, match=r"ETHUSDT-1d-2024-05\.zip"):
        download(
            "ETHUSDT",
            "1d",
            "2024-05-01",
            "2024-06-01",
            data_dir=cache,
            source="vision",
            vision_url=url,
            now=NOW,
            progress=False,
            retry=fast(sleeps),
        )
    assert nothing_cached(cache)


def test_interrupted_download_caches_nothing(shared_data: Path, tmp_path: Path, sleeps: list[float]) -> None:
    payload = (
        shared_data / "binance-vision" / monthly("BTCUSDT", "1d") / "BTCUSDT-1d-2024-01.zip"
    ).read_bytes()
    with (
        truncating_server(payload) as url,
        pytest.raises(DownloadError, match=r"failed after 3 attempts: RemoteProtocolError"),
    ):
        download(
            "BTCUSDT",
            "1d",
            "2024-01-01",
            "2024-02-01",
            data_dir=tmp_path,
            source="vision",
            vision_url=url,
            now=NOW,
            progress=False,
            retry=fast(sleeps),
        )
    assert sleeps == [0.001, 0.002]  # exponential backoff between the 3 attempts
    assert nothing_cached(tmp_path)


def test_server_down_after_retries(tmp_path: Path, sleeps: list[float]) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(
        DownloadError,
        match=r"GET http://127\.0\.0\.1:\d+/api/v3/klines failed after 4 attempts: ConnectError",
    ):
        download(
            "BTCUSDT",
            "1h",
            "2024-01-01",
            "2024-01-02",
            data_dir=tmp_path,
            source="rest",
            api_url=url,
            now=NOW,
            progress=False,
            retry=fast(sleeps, retries=3),
        )
    assert sleeps == [0.001, 0.002, 0.004]
    assert nothing_cached(tmp_path)


def test_bad_arguments(tmp_path: Path) -> None:
    kw = dict(data_dir=tmp_path, progress=False)
    with pytest.raises(ConfigError, match=r"source='ftp' is not allowed; allowed: auto, vision, rest"):
        download("BTCUSDT", "1h", "2024-01-01", "2024-02-01", source="ftp", **kw)
    with pytest.raises(ConfigError, match=r"timeframe='7m' is not supported"):
        download("BTCUSDT", "7m", "2024-01-01", "2024-02-01", **kw)
    with pytest.raises(ConfigError, match=r"start='2024-02-01' must be before end='2024-01-01'"):
        download("BTCUSDT", "1h", "2024-02-01", "2024-01-01", **kw)
    with pytest.raises(ConfigError, match=r"vision_url='ftp://x' is not allowed; allowed: an http"):
        download("BTCUSDT", "1h", "2024-01-01", "2024-02-01", vision_url="ftp://x", **kw)
    with pytest.raises(ConfigError, match=r"synthetic symbols cannot be downloaded"):
        download("SYNTH-1", "1h", "2024-01-01", "2024-02-01", **kw)
    with pytest.raises(ConfigError, match=r"retries=-1 is not allowed"):
        RetryPolicy(retries=-1)
    assert np.all(np.isfinite([1.0]))


def test_server_errors_are_retried_with_backoff(
    klines_server: KlinesServer, tmp_path: Path, sleeps: list[float]
) -> None:
    klines_server.fail_500 = 2
    [res] = download(
        "BTCUSDT",
        "4h",
        "2024-01-01",
        "2024-02-01",
        data_dir=tmp_path,
        source="rest",
        api_url=klines_server.url,
        now=NOW,
        progress=False,
        retry=fast(sleeps, retries=3),
    )
    assert sleeps == [0.001, 0.002] and len(klines_server.requests) == 3
    assert res.bars == 31 * 6
    klines_server.fail_500 = 5
    with pytest.raises(DownloadError, match=r"failed after 4 attempts: HTTP 500"):
        download(
            "BTCUSDT",
            "4h",
            "2024-02-01",
            "2024-03-01",
            data_dir=tmp_path,
            source="rest",
            api_url=klines_server.url,
            now=NOW,
            progress=False,
            retry=fast(sleeps, retries=3),
        )
    assert CandleCache(tmp_path).coverage("BTCUSDT", "4h") == [
        (parse_time("2024-01-01"), parse_time("2024-02-01"))
    ]


def test_missing_checksum_file_is_refused(shared_data: Path, tmp_path: Path, sleeps: list[float]) -> None:
    site, cache = tmp_path / "site", tmp_path / "cache"
    folder = _copy_months(shared_data, site, "SOLUSDT", "1d", ["2024-02"])
    (folder / "SOLUSDT-1d-2024-02.zip.CHECKSUM").unlink()
    with serve_directory(site) as (url, _), pytest.raises(ChecksumError, match=r"CHECKSUM is not published"):
        download(
            "SOLUSDT",
            "1d",
            "2024-02-01",
            "2024-03-01",
            data_dir=cache,
            source="vision",
            vision_url=url,
            now=NOW,
            progress=False,
            retry=fast(sleeps),
        )
    assert nothing_cached(cache)


def test_progress_bar_on_stderr(
    vision_server: tuple[str, list[str]],
    tmp_path: Path,
    sleeps: list[float],
    capsys: pytest.CaptureFixture[str],
) -> None:
    download(
        "SOLUSDT",
        "1d",
        "2024-01-01",
        "2024-03-01",
        data_dir=tmp_path,
        source="vision",
        vision_url=vision_server[0],
        now=NOW,
        progress=True,
        retry=fast(sleeps),
    )
    out, err = capsys.readouterr()
    assert out == ""
    assert "SOLUSDT 1d" in err and "0/2 [" in err  # two monthly files announced; the bar clears itself


def test_range_without_trading_is_remembered(
    vision_server: tuple[str, list[str]], klines_server: KlinesServer, tmp_path: Path, sleeps: list[float]
) -> None:
    kw = dict(
        data_dir=tmp_path,
        vision_url=vision_server[0],
        api_url=klines_server.url,
        now=NOW,
        progress=False,
        retry=fast(sleeps),
    )
    with pytest.raises(
        DownloadError, match=r"no candles for symbol='BTCUSDT' timeframe='1d' in \[2017-01-01"
    ):
        download("BTCUSDT", "1d", "2017-01-01", "2017-08-01", **kw)  # before the listing, nothing cached yet
    download("BTCUSDT", "1d", "2024-01-01", "2024-03-01", **kw)
    download("BTCUSDT", "1d", "2017-01-01", "2017-08-01", **kw)  # REST answers [], the range is remembered
    c = CandleCache(tmp_path)
    assert (parse_time("2017-01-01"), parse_time("2017-08-01")) in c.coverage("BTCUSDT", "1d")
    n = len(klines_server.requests) + len(vision_server[1])
    download("BTCUSDT", "1d", "2017-02-01", "2017-07-01", **kw)
    assert len(klines_server.requests) + len(vision_server[1]) == n  # not asked again
    assert c.read("BTCUSDT", "1d").n_bars == 31 + 29


def test_long_downloads_are_cached_in_batches(
    vision_server: tuple[str, list[str]], tmp_path: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    import tradeready_gym.data.download as dl

    monkeypatch.setattr(dl, "_FLUSH_BARS", 500)  # flush after every monthly file
    writes: list[int] = []
    real_write = CandleCache.write

    def counting_write(self: CandleCache, market: object, **kw: object) -> list[Path]:
        writes.append(market.n_bars)  # type: ignore[attr-defined]
        return real_write(self, market, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(CandleCache, "write", counting_write)
    [res] = download(
        "BTCUSDT",
        "1h",
        "2024-11-01",
        "2025-03-01",
        data_dir=tmp_path,
        source="vision",
        vision_url=vision_server[0],
        now=NOW,
        progress=False,
        retry=fast(sleeps),
    )
    assert writes == [720, 744, 744, 672] and res.bars == 2880 and len(res.urls) == 4
    assert_same(
        CandleCache(tmp_path).read("BTCUSDT", "1h"), rest_market("BTCUSDT", "1h", "2024-11-01", "2025-03-01")
    )

"""Shared fixtures. Real candles come from ``../shared/data`` (or ``TRADEREADY_SHARED_DATA``).

If the data folder is missing, the session fails: tests on real data must never be skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    env = os.environ.get("TRADEREADY_SHARED_DATA")
    path = Path(env) if env else _REPO.parent / "shared" / "data"
    return path.resolve()


def pytest_sessionstart(session: pytest.Session) -> None:
    path = shared_data_dir()
    if not (path / "raw").is_dir() or not (path / "binance-vision").is_dir():
        raise pytest.UsageError(
            f"real market data not found at {path}; set TRADEREADY_SHARED_DATA to the shared data folder "
            "(it must hold raw/ and binance-vision/)"
        )


@pytest.fixture(scope="session", autouse=True)
def tradeready_home(tmp_path_factory: pytest.TempPathFactory):
    """``TRADEREADY_HOME`` points to a temporary folder for the whole session, so no test writes the
    tracking store (or anything else) into the real user data dir. Yields the folder."""
    home = tmp_path_factory.mktemp("tradeready-home")
    old = os.environ.get("TRADEREADY_HOME")
    os.environ["TRADEREADY_HOME"] = str(home)
    try:
        yield home
    finally:
        if old is None:
            os.environ.pop("TRADEREADY_HOME", None)
        else:
            os.environ["TRADEREADY_HOME"] = old


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # type: ignore[no-untyped-def]
    """In CI (``CI=true``) a skipped test fails: a missing extra, browser or database must not pass quietly."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI", "").lower() == "true" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every test must run: {report.longrepr}"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of the shared real-candle folder (raw/, binance-vision/)."""
    return shared_data_dir()


def rest_market(symbols: str | list[str], timeframe: str, start: str | None = None, end: str | None = None):
    """Real candles straight from the shared REST JSON files, aligned across ``symbols``."""
    import numpy as np

    from tradeready_gym.data.market import MarketData
    from tradeready_gym.data.readers import read_rest_json

    names = [symbols] if isinstance(symbols, str) else list(symbols)
    frames = {}
    for sym in names:
        folder = shared_data_dir() / "raw" / "binance_spot_rest_klines" / sym / timeframe
        parts = [read_rest_json(f, symbol=sym, timeframe=timeframe) for f in sorted(folder.glob("*.json.gz"))]
        if not parts:
            raise FileNotFoundError(f"no REST files for {sym} {timeframe} under {folder}")
        ot = np.concatenate([p.open_time for p in parts])
        keep = np.concatenate([[True], np.diff(ot) > 0])
        cols = {n: np.concatenate([getattr(p, n)[:, 0] for p in parts])[keep] for n in ("open", "high", "low", "close", "volume")}
        extra = {n: np.concatenate([p.extra[n][:, 0] for p in parts])[keep] for n in parts[0].extra}
        md = MarketData((sym,), timeframe, ot[keep], cols["open"], cols["high"], cols["low"], cols["close"], cols["volume"], extra)
        frames[sym] = md.to_dataframe()
    md = MarketData.from_dataframes(frames, timeframe=timeframe)
    return md.slice(start, end)


@pytest.fixture(scope="session")
def btc_1h():
    """BTCUSDT 1h, 2024-01-01 .. 2024-07-01, real candles."""
    return rest_market("BTCUSDT", "1h", "2024-01-01", "2024-07-01")


REAL_CACHE_SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
REAL_CACHE_TIMEFRAMES = ("1h", "4h", "1d")


@pytest.fixture(scope="session")
def real_cache(tmp_path_factory: pytest.TempPathFactory):
    """A cache holding the real REST candles of BTC/ETH/SOL at 1h, 4h and 1d, set as ``TRADEREADY_DATA_DIR``.

    Tests can then call ``load_market_data(...)`` or ``gym.make(...)`` without ``data=``. Yields the
    cache root (a `pathlib.Path`); the previous ``TRADEREADY_DATA_DIR`` is restored afterwards.
    """
    from tradeready_gym.data import import_data

    root = tmp_path_factory.mktemp("tradeready-cache")
    for sym in REAL_CACHE_SYMBOLS:
        for tf in REAL_CACHE_TIMEFRAMES:
            import_data(shared_data_dir() / "raw" / "binance_spot_rest_klines" / sym / tf, data_dir=root)
    old = os.environ.get("TRADEREADY_DATA_DIR")
    os.environ["TRADEREADY_DATA_DIR"] = str(root)
    try:
        yield root
    finally:
        if old is None:
            os.environ.pop("TRADEREADY_DATA_DIR", None)
        else:
            os.environ["TRADEREADY_DATA_DIR"] = old

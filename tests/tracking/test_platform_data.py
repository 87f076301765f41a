"""Candles missing from the local cache come from the platform's market-data API (real server)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tradeready_gym.data import load_market_data
from tradeready_gym.errors import DownloadError
from tradeready_gym.tracking.platform_data import fetch_platform_candles, load_market_data_via_platform

from .test_remote import _free_port, _Platform


@pytest.fixture
def platform(tmp_path: Path, real_cache: Path):
    p = _Platform(f"sqlite:///{tmp_path}/platform.sqlite", real_cache, _free_port())
    yield p.start()
    p.stop()


def test_missing_candles_come_from_the_platform(tmp_path: Path, real_cache: Path, platform: _Platform) -> None:
    key = platform.register()
    empty = tmp_path / "client-cache"
    start, end = "2024-02-01T00:00:00Z", "2024-05-01T00:00:00Z"  # 2,160 1h bars: three pages of 1,000
    got = load_market_data_via_platform("BTCUSDT", "1h", start, end, base_url=platform.url, api_key=key,
                                        data_dir=empty)
    want = load_market_data("BTCUSDT", "1h", start, end, data_dir=real_cache)
    assert got.n_bars == want.n_bars == 2160
    np.testing.assert_array_equal(got.open_time, want.open_time)
    for col in ("open", "high", "low", "close", "volume"):
        np.testing.assert_allclose(getattr(got, col), getattr(want, col), rtol=1e-12)
    # now cached locally: the platform is no longer needed
    platform.stop()
    again = load_market_data("BTCUSDT", "1h", start, end, data_dir=empty)
    assert again.n_bars == 2160
    platform.start()


def test_platform_errors_are_download_errors(platform: _Platform) -> None:
    with pytest.raises(DownloadError, match="400"):
        fetch_platform_candles(platform.url, "NOPEUSDT", "1h", 0, 10**18)
    with pytest.raises(DownloadError, match="not reachable"):
        fetch_platform_candles(f"http://127.0.0.1:{_free_port()}", "BTCUSDT", "1h", 0, 10**18, timeout_s=2)


def test_env_with_a_key_loads_missing_candles_from_the_platform(tmp_path: Path, real_cache: Path,
                                                                platform: _Platform) -> None:
    import gymnasium as gym

    key = platform.register()
    empty = tmp_path / "env-cache"
    kw = {"start_time": "2024-03-01", "end_time": "2024-04-01", "episode_length": 50, "track_training": False}
    env = gym.make("TradeReady-BTC-v0", api_key=key, base_url=platform.url, data_dir=empty, **kw)
    ref = gym.make("TradeReady-BTC-v0", data_dir=real_cache, **kw)
    obs, _ = env.reset(seed=0)
    obs_ref, _ = ref.reset(seed=0)
    np.testing.assert_allclose(obs, obs_ref, rtol=1e-6)
    for a in [1, 0, 2, 1, 1]:
        o1, r1, *_ = env.step(a)
        o2, r2, *_ = ref.step(a)
        np.testing.assert_allclose(o1, o2, rtol=1e-6)
        assert r1 == pytest.approx(r2)
    env.close()
    ref.close()

"""The synthetic generator: seeded, labelled, volatility clustering, never a real symbol."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tradeready_gym.data import CandleCache, generate_synthetic, load_market_data
from tradeready_gym.errors import ConfigError, DataNotFoundError


def _acf(x: np.ndarray, lag: int) -> float:
    x = x - x.mean()
    return float((x[:-lag] * x[lag:]).sum() / (x * x).sum())


def test_seeded_and_labelled() -> None:
    a = generate_synthetic(500, timeframe="15m", n_symbols=3, seed=11)
    b = generate_synthetic(500, timeframe="15m", n_symbols=3, seed=11)
    c = generate_synthetic(500, timeframe="15m", n_symbols=3, seed=12)
    assert a.synthetic and a.symbols == ("SYNTH-1", "SYNTH-2", "SYNTH-3")
    for f in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    assert not np.array_equal(a.close, c.close)
    assert not np.array_equal(a.close[:, 0], a.close[:, 1])
    assert "synthetic" in repr(a) and a.describe()["synthetic"] is True
    assert np.all(np.diff(a.open_time) == 15 * 60 * 10**9)
    np.testing.assert_array_equal(
        a.open[1:], a.close[:-1]
    )  # continuous, valid OHLC (checked on construction)


def test_volatility_clusters_and_fat_tails() -> None:
    md = generate_synthetic(40_000, timeframe="1h", seed=3, annual_vol=0.6)
    r = np.diff(np.log(md.close[:, 0]))
    # squared returns are autocorrelated (calm and wild periods), unlike GBM or a shuffled series
    assert _acf(r**2, 1) > 0.1 and _acf(np.abs(r), 5) > 0.1
    shuffled = np.random.default_rng(0).permutation(r)
    assert abs(_acf(shuffled**2, 1)) < 0.03
    kurt = float(((r - r.mean()) ** 4).mean() / r.var() ** 2)
    assert kurt > 4.0  # fat tails (a normal distribution has 3)
    annual = r.std() * np.sqrt(365 * 24)
    assert 0.45 < annual < 0.75  # long-run volatility near the requested 0.6


def test_never_used_for_a_real_symbol(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"synthetic symbols must start with 'SYNTH-'"):
        generate_synthetic(10, symbols=["BTCUSDT"])
    syn = generate_synthetic(100, seed=1)
    CandleCache(tmp_path).write(syn, source="synthetic")
    with pytest.raises(DataNotFoundError, match=r"symbol='BTCUSDT'.*tradeready data download BTCUSDT"):
        load_market_data("BTCUSDT", "1h", data_dir=tmp_path)
    with pytest.raises(DataNotFoundError, match=r"symbols \['BTCUSDT'\] are not in the given MarketData"):
        load_market_data("BTCUSDT", "1h", data=syn)
    md = load_market_data("SYNTH-1", "1h", data_dir=tmp_path)
    assert md.synthetic and md.n_bars == 100


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_bars": 0}, r"n_bars=0 is not allowed; allowed: an integer >= 1"),
        ({"n_bars": 10, "timeframe": "7m"}, r"timeframe='7m' is not supported"),
        ({"n_bars": 10, "start_price": -1.0}, r"start_price=-1.0 is not allowed"),
        (
            {"n_bars": 10, "alpha": 0.5, "beta": 0.6},
            r"alpha=0.5, beta=0.6 are not allowed; allowed: alpha, beta >= 0",
        ),
        ({"n_bars": 10, "annual_vol": 0.0}, r"annual_vol=0.0 is not allowed"),
        ({"n_bars": 10, "tail_dof": 2.0}, r"tail_dof=2.0 is not allowed"),
        ({"n_bars": 10, "n_symbols": 0}, r"n_symbols=0 is not allowed"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        generate_synthetic(**kwargs)  # type: ignore[arg-type]

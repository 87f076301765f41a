"""`tradeready_gym.validation`: the one set of parameter checks, and its examples."""

from __future__ import annotations

import datetime as dt
import doctest
import math
from pathlib import Path

import numpy as np
import pytest

import tradeready_gym.validation as V
from tradeready_gym.errors import ConfigError


def test_docstring_examples() -> None:
    import tradeready_gym.timeframes as timeframes

    for mod in (V, timeframes):
        assert doctest.testmod(mod).failed == 0


@pytest.mark.parametrize("value", ["1", True, None, float("nan"), math.inf, [1], np.bool_(True)])
def test_check_number_refuses_non_numbers_and_non_finite(value: object) -> None:
    with pytest.raises(ConfigError, match=r"^x=.* is not allowed; allowed: a number in \[0, 1\]"):
        V.check_number("x", value, 0.0, 1.0)


def test_check_number_bounds_and_numpy() -> None:
    assert V.check_number("x", np.float32(0.5), 0.0, 1.0) == 0.5
    assert V.check_number("x", np.int64(3), 0.0) == 3.0
    with pytest.raises(ConfigError, match=r"x=1.0 is not allowed; allowed: a number in \[0, 1\)"):
        V.check_number("x", 1.0, 0.0, 1.0, hi_open=True)
    with pytest.raises(ConfigError, match=r"x=0 is not allowed; allowed: a number > 0"):
        V.check_number("x", 0, 0.0, lo_open=True)


def test_check_int() -> None:
    assert V.check_int("n", np.int32(4), 1, 10) == 4
    for bad in (4.0, True, "4", None):
        with pytest.raises(ConfigError, match=r"an integer in \[1, 10\]"):
            V.check_int("n", bad, 1, 10)
    with pytest.raises(ConfigError, match=r"n=11 is not allowed"):
        V.check_int("n", 11, 1, 10)


def test_bool_str_path_choice() -> None:
    assert V.check_bool("b", np.bool_(False)) is False
    with pytest.raises(ConfigError, match=r"b=1 is not allowed; allowed: True or False"):
        V.check_bool("b", 1)
    assert V.check_optional_str("s", None) is None
    with pytest.raises(ConfigError, match=r"api_key=123 is not allowed; allowed: None or a string"):
        V.check_optional_str("api_key", 123)
    assert V.check_optional_path("p", Path("/tmp")) == Path("/tmp")
    with pytest.raises(ConfigError, match=r"p=3 is not allowed"):
        V.check_optional_path("p", 3)
    assert V.check_choice("m", "spot", ("spot", "margin")) == "spot"
    with pytest.raises(ConfigError, match=r"m='SPOT' is not allowed; allowed: 'spot', 'margin'"):
        V.check_choice("m", "SPOT", ("spot", "margin"))


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("BTCUSDT", "BTCUSDT"),
        ("btcusdt", "BTCUSDT"),
        (" btc/usdt ", "BTCUSDT"),
        ("BTC_USDT", "BTCUSDT"),
        ("eth-usdt", "ETHUSDT"),
        ("1000SATSUSDT", "1000SATSUSDT"),
        ("SYNTH-1", "SYNTH-1"),
        ("synth-ab2", "SYNTH-AB2"),
    ],
)
def test_symbol_rule_accepts(given: str, canonical: str) -> None:
    assert V.check_symbol(given) == canonical


@pytest.mark.parametrize(
    "bad", ["", "B", "BTC USDT", "BTC/USDT/EUR", "BTC//USDT", "BTC$", "SYNTH-", "SYNTH-1-2", "A" * 21, b"BTCUSDT", 1]
)
def test_symbol_rule_refuses(bad: object) -> None:
    with pytest.raises(ConfigError, match=r"is not allowed; allowed: a Binance spot pair"):
        V.check_symbol(bad)


def test_check_symbols() -> None:
    assert V.check_symbols("btc/usdt") == ("BTCUSDT",)
    assert V.check_symbols(("BTCUSDT", "eth/usdt")) == ("BTCUSDT", "ETHUSDT")
    with pytest.raises(ConfigError, match=r"symbols\[1\]='x' is not allowed"):
        V.check_symbols(["BTCUSDT", "x"])
    with pytest.raises(ConfigError, match=r"symbols=\[\] is not allowed; allowed: at least one symbol"):
        V.check_symbols([])
    with pytest.raises(ConfigError, match=r"BTCUSDT listed more than once"):
        V.check_symbols(["BTCUSDT", "BTC_USDT"])
    with pytest.raises(ConfigError, match=r"symbols=5 is not allowed"):
        V.check_symbols(5)


def test_time_checks() -> None:
    ns = 1_704_067_200_000_000_000
    assert V.check_time("2024-01-01", "t") == ns
    assert V.check_time(dt.datetime(2024, 1, 1), "t") == ns  # naive = UTC, as documented
    assert V.check_time(ns, "t") == ns  # the data layer reads ints as ns
    with pytest.raises(ConfigError, match=r"t=1704067200 is not allowed; .*bare integer is ambiguous"):
        V.check_time(1_704_067_200, "t", allow_int=False)
    assert V.check_time_range(None, "2024-01-02") == (None, ns + 86_400 * 10**9)
    with pytest.raises(ConfigError, match=r"start_time='2024-01-01' must be before end_time='2024-01-01'"):
        V.check_time_range("2024-01-01", "2024-01-01", start_param="start_time", end_param="end_time")


def test_long_values_are_shortened_in_messages() -> None:
    with pytest.raises(ConfigError) as err:
        V.check_bool("b", "x" * 500)
    assert len(str(err.value)) < 200 and "..." in str(err.value)

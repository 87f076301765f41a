"""Fee models: percentage, maker/taker and fixed, checked against hand-computed fills on real bars."""

from __future__ import annotations

import numpy as np
import pytest

from tradeready_gym.data.market import MarketData
from tradeready_gym.engine import (
    Engine,
    EngineConfig,
    FixedFee,
    MakerTakerFee,
    PercentageFee,
)
from tradeready_gym.engine.costs import fee_from_dict
from tradeready_gym.errors import ConfigError

WICK = "2024-01-03T12:00:00Z"  # SOLUSDT 1h: open 103.42, high 103.47, low 85.00, close 100.31


def test_default_fee_is_the_percentage_shorthand() -> None:
    cfg = EngineConfig()
    assert cfg.fee is None and cfg.fee_model == PercentageFee(0.001)
    assert EngineConfig(fee=PercentageFee(0.002)) == EngineConfig(fee_rate=0.002)
    assert EngineConfig(fee=MakerTakerFee(maker=0.0002, taker=0.0005)).fee_rate == 0.0005
    assert EngineConfig(fee=FixedFee(1.0)).fee_rate == 0.0


@pytest.mark.parametrize(
    "fee", [PercentageFee(0.002), MakerTakerFee(maker=0.0001, taker=0.0004), FixedFee(2.5)]
)
def test_fee_models_round_trip_through_json(fee) -> None:  # type: ignore[no-untyped-def]
    import json

    cfg = EngineConfig(fee=fee)
    back = EngineConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg and back.fee_model == fee
    assert fee_from_dict(fee.to_dict()) == fee


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"fee": PercentageFee(0.002), "fee_rate": 0.003}, "disagrees"),
        ({"fee": 0.001}, "fee=0.001 is not allowed"),
        ({"fee": MakerTakerFee}, "is not allowed"),
    ],
)
def test_bad_fee_settings_raise_config_error(kwargs, needle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=needle):
        EngineConfig(**kwargs)


@pytest.mark.parametrize(
    ("build", "needle"),
    [
        (lambda: PercentageFee(0.5), "rate=0.5"),
        (lambda: PercentageFee("0.1"), "rate='0.1'"),
        (lambda: MakerTakerFee(maker=-0.001, taker=0.001), "maker=-0.001"),
        (lambda: FixedFee(float("nan")), "amount=nan"),
        (lambda: fee_from_dict({"type": "Nope"}), "Nope"),
    ],
)
def test_bad_fee_models_raise_config_error(build, needle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=needle):
        build()


def test_percentage_fee_on_a_market_fill(btc_1h_short: MarketData) -> None:
    eng = Engine(btc_1h_short, EngineConfig(starting_balance=100_000.0, fee=PercentageFee(0.0025)))
    eng.reset(5)
    eng.step(np.array([[0.5]]))
    (f,) = eng.last_fills(0)
    px = float(btc_1h_short.open[6, 0])
    assert f.price == px
    assert f.fee == 0.5 * px * 0.0025
    assert eng.cash[0] == (100_000.0 - 0.5 * px) - 0.5 * px * 0.0025


def _wick_engine(md: MarketData, fee) -> tuple[Engine, int]:  # type: ignore[no-untyped-def]
    w = md.index_of(WICK)
    eng = Engine(md, EngineConfig(starting_balance=10_000.0, fee=fee))
    eng.reset(w - 3)
    return eng, w


def test_maker_taker_rates_by_fill_kind(sol_1h: MarketData) -> None:
    maker, taker = 0.0002, 0.0007
    eng, w = _wick_engine(sol_1h, MakerTakerFee(maker=maker, taker=taker))
    # market buy: taker
    eng.step(np.array([[20.0]]))
    (f,) = eng.last_fills(0)
    o1 = float(sol_1h.open[w - 2, 0])
    assert (f.kind, f.price, f.fee) == ("market", o1, 20.0 * o1 * taker)
    cash = (10_000.0 - 20.0 * o1) - 20.0 * o1 * taker
    assert eng.cash[0] == cash
    eng.step()
    # in the wick bar: a stop-loss at 95 (taker), a limit buy at 90 (maker), a take-profit at 103.45 (maker)
    stop = eng.place_order(0, "SOLUSDT", "sell", "stop_loss", 5.0, 95.0)
    limit = eng.place_order(0, "SOLUSDT", "buy", "limit", 3.0, 90.0)
    tp = eng.place_order(0, "SOLUSDT", "sell", "take_profit", 4.0, 103.45)
    # the limit buy reserves its cost at the maker rate
    assert eng.reserved_cash[0] == 3.0 * 90.0 + 3.0 * 90.0 * maker
    eng.step()
    fills = {f.order_id: f for f in eng.last_fills(0)}
    assert [f.order_id for f in eng.last_fills(0)] == [stop, limit, tp]  # stop-losses first
    assert fills[stop].fee == 5.0 * 95.0 * taker
    assert fills[limit].fee == 3.0 * 90.0 * maker
    assert fills[tp].fee == 4.0 * 103.45 * maker
    cash = (cash + 5.0 * 95.0) - 5.0 * 95.0 * taker
    cash = (cash - 3.0 * 90.0) - 3.0 * 90.0 * maker
    cash = (cash + 4.0 * 103.45) - 4.0 * 103.45 * maker
    assert eng.cash[0] == cash
    assert eng.metrics(0).fees_paid == pytest.approx(
        20.0 * o1 * taker + 5 * 95 * taker + 3 * 90 * maker + 4 * 103.45 * maker, rel=1e-12
    )


def test_set_fee_rate_changes_the_taker_rate_only(sol_1h: MarketData) -> None:
    eng, w = _wick_engine(sol_1h, MakerTakerFee(maker=0.0001, taker=0.001))
    eng.set_fee_rate(0.003)
    eng.step(np.array([[10.0]]))
    o1 = float(sol_1h.open[w - 2, 0])
    assert eng.last_fills(0)[0].fee == 10.0 * o1 * 0.003
    eng.step()
    eng.place_order(0, "SOLUSDT", "buy", "limit", 1.0, 90.0)
    eng.step()
    assert eng.last_fills(0)[0].fee == 90.0 * 0.0001


def test_fixed_fee_per_fill(sol_1h: MarketData) -> None:
    eng, w = _wick_engine(sol_1h, FixedFee(1.25))
    eng.step(np.array([[10.0]]))
    o1 = float(sol_1h.open[w - 2, 0])
    (f,) = eng.last_fills(0)
    assert f.fee == 1.25
    assert eng.cash[0] == (10_000.0 - 10.0 * o1) - 1.25
    eng.step()
    eng.place_order(0, "SOLUSDT", "sell", "stop_loss", 10.0, 95.0)
    eng.step()
    (f,) = eng.last_fills(0)
    assert (f.kind, f.price, f.fee) == ("stop_loss", 95.0, 1.25)
    assert eng.metrics(0).fees_paid == 2.5


def test_fixed_fee_spot_buy_of_all_the_cash_leaves_the_fee(btc_1h_short: MarketData) -> None:
    eng = Engine(btc_1h_short, EngineConfig(starting_balance=1_000.0, fee=FixedFee(5.0)))
    eng.reset(0)
    eng.step(np.array([[1e6]]))
    (f,) = eng.last_fills(0)
    px = float(btc_1h_short.open[1, 0])
    assert f.quantity == pytest.approx(995.0 / px, rel=1e-12)
    assert 0.0 <= eng.cash[0] < 1e-9


def test_fixed_fee_larger_than_cash_and_proceeds_is_rejected(btc_1h_short: MarketData) -> None:
    eng = Engine(btc_1h_short, EngineConfig(starting_balance=1_000.0, fee=FixedFee(5.0)))
    eng.reset(0)
    eng.step(np.array([[1e6]]))  # all in: cash is now below the fee
    q = float(eng.qty[0, 0])
    eng.step(np.array([[-q * 1e-4]]))  # proceeds of about 0.1 USDT, less than the fee
    assert eng.last_fills(0) == []
    assert eng.metrics(0).n_rejected == 1
    assert eng.cash[0] >= 0.0
    eng.step(np.array([[1.0]]))  # a buy the cash cannot even pay the fee of
    assert eng.last_fills(0) == [] and eng.cash[0] >= 0.0
    eng.step(np.array([[-q]]))  # selling everything pays it
    assert eng.last_fills(0)[0].fee == 5.0 and eng.cash[0] > 900.0

"""Config validation, serialisation, cost models and bad-input errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tradeready_gym.engine import (
    Engine,
    EngineConfig,
    FixedBpsSlippage,
    NoSlippage,
    VolumeParticipationSlippage,
)
from tradeready_gym.engine.costs import slippage_from_dict
from tradeready_gym.errors import ConfigError, DataError, InvalidOrderError


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"starting_balance": 0}, r"starting_balance=0 .*allowed: a number in \(0"),
        ({"starting_balance": -5.0}, r"starting_balance=-5.0"),
        ({"starting_balance": float("nan")}, r"starting_balance=nan"),
        ({"fee_rate": 0.2}, r"fee_rate=0.2 is not allowed; allowed: a number in \[0, 0.1\]"),
        ({"fee_rate": -0.001}, r"fee_rate=-0.001"),
        ({"fee_rate": float("nan")}, r"fee_rate=nan"),
        ({"fill": "open"}, r"fill='open' is not allowed; allowed: 'next_open', 'close'"),
        ({"mode": "futures"}, r"mode='futures' is not allowed; allowed: 'spot', 'margin'"),
        ({"on_insufficient": "partial"}, r"on_insufficient='partial'"),
        ({"spread_bps": -1}, r"spread_bps=-1"),
        ({"slippage": 5}, r"slippage=5 is not allowed"),
        ({"lot_step": -0.1}, r"lot_step=-0.1"),
        ({"lot_step": []}, r"lot_step=\[\]"),
        ({"min_notional": (1.0, -2.0)}, r"min_notional\[1\]=-2.0"),
        ({"max_orders": 0}, r"max_orders=0"),
        ({"leverage": 0.5}, r"leverage=0.5"),
        ({"maintenance_margin": 1.0}, r"maintenance_margin=1.0"),
        ({"borrow_rate": -1}, r"borrow_rate=-1"),
    ],
)
def test_config_errors_name_parameter_value_and_allowed(kw, match):
    with pytest.raises(ConfigError, match=match):
        EngineConfig(**kw)


def test_config_is_frozen_and_keyword_only():
    cfg = EngineConfig()
    with pytest.raises(AttributeError):
        cfg.fee_rate = 0.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        EngineConfig(10_000.0)  # type: ignore[misc]


@pytest.mark.parametrize(
    "slippage",
    [NoSlippage(), FixedBpsSlippage(2.5), VolumeParticipationSlippage(impact=0.3, exponent=1.0, base_bps=1, max_bps=40)],
)
def test_config_round_trips_through_json(slippage):
    cfg = EngineConfig(starting_balance=5_000, fee_rate=0.00075, slippage=slippage, spread_bps=2.0, fill="close",
                       mode="margin", lot_step=(0.001, 0.01), min_notional=5.0, max_orders=8, leverage=4.0)
    back = EngineConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg
    assert back.to_dict() == cfg.to_dict()


def test_config_from_dict_errors():
    with pytest.raises(ConfigError, match=r"unknown EngineConfig keys \['fees'\]"):
        EngineConfig.from_dict({"fees": 0.1})
    with pytest.raises(ConfigError, match="slippage type='Magic'"):
        slippage_from_dict({"type": "Magic"})
    with pytest.raises(ConfigError, match="bps=-1"):
        slippage_from_dict({"type": "FixedBpsSlippage", "bps": -1})


def test_volume_participation_model_hand_computed(market3):
    """10 BTC against the last closed bar's quote volume, square-root impact, clamped."""
    model = VolumeParticipationSlippage(impact=0.5, exponent=0.5, base_bps=1.0, max_bps=30.0)
    eng = Engine(market3, EngineConfig(fee_rate=0.0, slippage=model, starting_balance=1e7))
    eng.reset(100)
    qv = market3.extra["quote_volume"][100, 0]  # known at the decision, unlike bar 101's volume
    ref = market3.open[101, 0]
    eng.step(np.array([[2.0, 0.0, 0.0]]))
    (f,) = eng.last_fills(0)
    bps = min(30.0, 1.0 + 1e4 * 0.5 * math.sqrt(2.0 * ref / qv))
    assert f.price == pytest.approx(ref * (1 + bps * 1e-4), rel=1e-14)
    assert model.slip(2.0 * ref, qv) == pytest.approx(bps * 1e-4, rel=1e-14)
    # a huge order hits the clamp
    eng.step(np.array([[200.0, 0.0, 0.0]]))
    (f,) = eng.last_fills(0)
    assert f.price == pytest.approx(market3.open[102, 0] * (1 + 30e-4), rel=1e-14)


def test_spread_is_paid_half_on_each_side(market3):
    eng = Engine(market3, EngineConfig(fee_rate=0.0, spread_bps=10.0))
    eng.reset(0)
    eng.step(np.array([[0.1, 0.0, 0.0]]))
    assert eng.last_fills(0)[0].price == pytest.approx(market3.open[1, 0] * 1.0005, rel=1e-15)
    eng.step(np.array([[-0.1, 0.0, 0.0]]))
    assert eng.last_fills(0)[0].price == pytest.approx(market3.open[2, 0] * 0.9995, rel=1e-15)


def test_bad_orders(market3):
    eng = Engine(market3, EngineConfig(), n_accounts=2)
    for bad in (np.nan, np.inf, -np.inf):
        o = np.zeros((2, 3))
        o[1, 2] = bad
        with pytest.raises(InvalidOrderError, match=rf"order_qty\[1, 2\] \(SOLUSDT\) = {bad} .*allowed: a finite number"):
            eng.step(o)
        assert eng.t.tolist() == [0, 0]  # nothing moved
    with pytest.raises(InvalidOrderError, match=r"order_qty has shape \(3,\); allowed: \(2, 3\)"):
        eng.step(np.zeros(3))
    with pytest.raises(InvalidOrderError, match="order_qty="):
        eng.step("buy")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="active has dtype"):
        eng.step(active=np.array([1, 0]))
    cases = [
        (dict(symbol="XRPUSDT"), r"symbol='XRPUSDT' is not allowed; allowed: BTCUSDT, ETHUSDT, SOLUSDT"),
        (dict(symbol=7), r"symbol=7 is not allowed"),
        (dict(quantity=-1.0), r"quantity=-1.0 is not allowed; allowed: a finite number > 0"),
        (dict(quantity=float("nan")), r"quantity=nan is not allowed"),
        (dict(quantity=0.0), r"quantity=0.0 is not allowed"),
        (dict(price=0.0), r"price=0.0 is not allowed; allowed: a finite number > 0"),
        (dict(price=-3.0), r"price=-3.0 is not allowed"),
        (dict(price=float("inf")), r"price=inf is not allowed"),
        (dict(side="long"), r"side='long' is not allowed; allowed: 'buy', 'sell'"),
        (dict(kind="iceberg"), r"kind='iceberg' is not allowed; allowed: 'limit'"),
        (dict(i=5), r"account=5 is not allowed; allowed: an integer in \[0, 1\]"),
        (dict(side="buy", kind="stop_loss"), r"side='buy' with kind='stop_loss' is not allowed in spot mode"),
    ]
    for over, match in cases:
        kw = dict(i=0, symbol="BTCUSDT", side="buy", kind="limit", quantity=0.01, price=30_000.0)
        kw.update(over)
        with pytest.raises(InvalidOrderError, match=match):
            eng.place_order(**kw)  # type: ignore[arg-type]
    assert eng.open_orders(0) == [] and eng.reserved_cash[0] == 0.0


def test_engine_construction_and_reset_errors(market3):
    with pytest.raises(ConfigError, match="n_accounts=0"):
        Engine(market3, EngineConfig(), n_accounts=0)
    with pytest.raises(ConfigError, match="market=dict"):
        Engine({}, EngineConfig())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="lot_step has 2 values; allowed: one number or exactly 3"):
        Engine(market3, EngineConfig(lot_step=(0.1, 0.1)))
    eng = Engine(market3, EngineConfig(), n_accounts=2)
    with pytest.raises(ConfigError, match=r"start=1439 \(account 0\) is not allowed; allowed: a bar index in \[0, 1438\]"):
        eng.reset(1439)
    with pytest.raises(ConfigError, match=r"start has shape \(3,\)"):
        eng.reset(np.array([1, 2, 3]))
    with pytest.raises(ConfigError, match=r"start=1\.5"):
        eng.reset(1.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"fee_rate=0\.5"):
        eng.set_fee_rate(0.5)
    with pytest.raises(ConfigError, match="lookback=0"):
        eng.window(0, 0)
    eng.reset(1438)
    eng.step()
    with pytest.raises(DataError, match="account 0 is at bar t=1439, the last of 1440 bars"):
        eng.step()
    assert eng.t.tolist() == [1439, 1439]
    eng.reset(np.array([0, 1438]), accounts=np.array([True, False]))
    eng.step(active=np.array([True, False]))
    assert eng.t.tolist() == [1, 1439]
    assert eng.bars_left().tolist() == [1438, 0]


def test_state_arrays_are_read_only(market3):
    eng = Engine(market3, EngineConfig())
    for name in ("t", "cash", "equity", "qty", "avg_price", "fees_paid", "realized_pnl", "unrealized_pnl"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(eng, name)[...] = 0

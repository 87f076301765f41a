"""Request and response schemas (one family per resource: ``XCreate`` / ``XPublic`` / ``XsPublic``).

Decimal values travel as strings (``"10000.0"``), as in the original API; requests accept strings or
numbers. Responses list the fields the original client reads, and more.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "AccountCreate",
    "AccountPublic",
    "BacktestCreate",
    "BacktestCreated",
    "BacktestResults",
    "BacktestStatus",
    "BacktestsPublic",
    "BatchStep",
    "CandlesPublic",
    "DataRangePublic",
    "EpisodeCreate",
    "ErrorResponse",
    "KeyCreate",
    "KeyPublic",
    "LearningCurvePublic",
    "OrderCreate",
    "OrderPublic",
    "OrdersPublic",
    "PricesPublic",
    "RunComplete",
    "RunCreate",
    "RunPublic",
    "RunsCompare",
    "RunsPublic",
    "ScalarCreate",
    "StepPublic",
]

SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,20}$")
ALLOWED_INTERVALS = (60, 300, 900, 1800, 3600, 14400, 86400)


def _reject_nul(value: Any, where: str = "body") -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{where} holds a NUL character; allowed: text without NUL (\\u0000)")
    elif isinstance(value, dict):
        for k, v in value.items():
            _reject_nul(k, where)
            _reject_nul(v, f"{where}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _reject_nul(v, f"{where}[{i}]")


class _Request(BaseModel):
    """Base of request bodies: no string anywhere in them may hold a NUL character."""

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        _reject_nul(data)
        return data


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | None = None


class ErrorResponse(BaseModel):
    """The error envelope."""

    error: ErrorDetail


# ---------------------------------------------------------------------------- accounts
class AccountCreate(_Request):
    display_name: str = Field("trader", min_length=1, max_length=100)
    email: str | None = Field(None, max_length=254)


class AccountPublic(_Open):
    account_id: int
    display_name: str
    email: str | None = None
    created_at: str | None = None


class AccountCreated(AccountPublic):
    api_key: str
    key_id: int
    key_prefix: str
    message: str


class KeyCreate(_Request):
    name: str = Field("default", min_length=1, max_length=100)


class KeyPublic(_Open):
    key_id: int
    key_prefix: str
    name: str | None = None
    created_at: str | None = None
    revoked_at: str | None = None
    api_key: str | None = None


class KeysPublic(BaseModel):
    keys: list[KeyPublic]


# ---------------------------------------------------------------------------- backtests
def _check_time(v: str, name: str) -> dt.datetime:
    from tradeready_gym.errors import ConfigError
    from tradeready_gym.timeframes import parse_time

    try:
        ns = parse_time(v, param=name)
    except (ConfigError, ValueError, OverflowError) as exc:
        raise ValueError(str(exc)) from exc
    return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC)


class BacktestCreate(_Request):
    """``POST /api/v1/backtest/create``."""

    start_time: str = Field(..., max_length=64)
    end_time: str = Field(..., max_length=64)
    starting_balance: Decimal = Field(Decimal("10000"), ge=1, le=10_000_000, allow_inf_nan=False)
    candle_interval: int = 60
    pairs: list[str] = Field(..., min_length=1, max_length=20)
    strategy_label: str = Field("", max_length=100)
    fee_rate: Decimal | None = Field(None, ge=0, le=Decimal("0.1"), allow_inf_nan=False)
    agent_id: str | None = Field(None, max_length=100)
    exchange: str | None = Field(None, max_length=50)

    @field_validator("candle_interval")
    @classmethod
    def _interval(cls, v: int) -> int:
        if v not in ALLOWED_INTERVALS:
            raise ValueError(f"candle_interval={v} is not allowed; allowed: {', '.join(map(str, ALLOWED_INTERVALS))}")
        return v

    @field_validator("pairs")
    @classmethod
    def _pairs(cls, v: list[str]) -> list[str]:
        for s in v:
            if not SYMBOL_RE.match(s):
                raise ValueError(f"pairs holds {s!r}; allowed: symbols matching ^[A-Z0-9]{{2,20}}$ such as 'BTCUSDT'")
        if len(set(v)) != len(v):
            raise ValueError(f"pairs={v!r} lists a symbol more than once")
        return v

    @model_validator(mode="after")
    def _range(self) -> BacktestCreate:
        a = _check_time(self.start_time, "start_time")
        b = _check_time(self.end_time, "end_time")
        if b <= a:
            raise ValueError(f"end_time={self.end_time!r} must be after start_time={self.start_time!r}")
        return self


class BacktestCreated(_Open):
    session_id: str
    status: str
    total_steps: int
    estimated_pairs: int
    agent_id: str | None = None


class SessionState(_Open):
    status: str
    session_id: str


class Position(_Open):
    symbol: str
    quantity: str
    avg_entry_price: str
    current_price: str
    market_value: str
    unrealized_pnl: str


class PortfolioPublic(_Open):
    total_equity: str
    available_cash: str
    position_value: str
    total_position_value: str
    unrealized_pnl: str
    realized_pnl: str
    starting_balance: str
    positions: list[Position]


class FillPublic(_Open):
    order_id: str | None
    symbol: str
    side: str
    status: str
    executed_price: str
    executed_qty: str
    fee: str


class StepPublic(_Open):
    """A step's response; ``filled_orders`` and ``orders_filled`` hold the same fills."""

    virtual_time: str
    step: int
    total_steps: int
    progress_pct: str
    prices: dict[str, str]
    orders_filled: list[FillPublic]
    filled_orders: list[FillPublic]
    portfolio: PortfolioPublic
    is_complete: bool
    remaining_steps: int


class BatchStep(_Request):
    steps: int = Field(..., ge=1, le=1_000_000)


class OrderCreate(_Request):
    """``POST /api/v1/backtest/{id}/trade/order``; ``price`` for limit / stop_loss / take_profit."""

    symbol: str = Field(..., max_length=20)
    side: Literal["buy", "sell"]
    type: Literal["market", "limit", "stop_loss", "take_profit"] = "market"
    quantity: Decimal = Field(..., gt=0, le=Decimal("1e15"), allow_inf_nan=False)
    price: Decimal | None = Field(None, gt=0, le=Decimal("1e15"), allow_inf_nan=False)


class OrderPublic(_Open):
    order_id: str
    status: str
    executed_price: str | None = None
    executed_qty: str | None = None
    fee: str | None = None


class OrdersPublic(_Open):
    session_id: str
    orders: list[OrderPublic]
    count: int


class TradesPublic(_Open):
    session_id: str
    trades: list[dict[str, Any]]
    count: int


class EquityCurvePublic(_Open):
    session_id: str
    points: list[dict[str, Any]]
    count: int


class BacktestStatus(_Open):
    session_id: str
    status: str
    step: int
    total_steps: int


class BacktestResults(_Open):
    """Results: nested ``summary`` / ``metrics`` and the top-level keys the tracker reads."""

    session_id: str
    status: str
    config: dict[str, Any]
    summary: dict[str, Any]
    metrics: dict[str, Any]
    by_pair: list[dict[str, Any]]
    roi_pct: float | None
    sharpe_ratio: float | None
    max_drawdown_pct: float | None
    total_trades: int
    reward_sum: float | None


class BacktestsPublic(_Open):
    sessions: list[dict[str, Any]]
    count: int


class CandlesPublic(_Open):
    symbol: str
    interval: str
    candles: list[dict[str, Any]]
    count: int


class PricesPublic(_Open):
    prices: dict[str, str]


class DataRangePublic(_Open):
    entries: list[dict[str, Any]]


# ---------------------------------------------------------------------------- training
class RunCreate(_Request):
    """``POST /api/v1/training/runs``: the original sends ``run_id`` and ``config``; the rest is optional."""

    model_config = ConfigDict(extra="ignore")

    run_id: str = Field(..., min_length=1, max_length=36)
    config: dict[str, Any] = Field(default_factory=dict)
    strategy_id: str | None = Field(None, max_length=100)
    name: str | None = Field(None, max_length=200)
    strategy_label: str | None = Field(None, max_length=200)
    group_name: str | None = Field(None, max_length=200)
    seed: int | None = Field(None, ge=-(2**63), lt=2**63)
    mode: Literal["train", "eval", "paper", "backtest"] | None = None
    env_id: str | None = Field(None, max_length=100)
    algorithm: str | None = Field(None, max_length=100)
    hyperparams: dict[str, Any] | None = None
    library_version: str | None = Field(None, max_length=32)


_F = Field(None, allow_inf_nan=False)


class EpisodeCreate(_Request):
    """``POST /api/v1/training/runs/{id}/episodes``: the original's keys plus the store's columns."""

    model_config = ConfigDict(extra="ignore")

    episode_number: int = Field(..., ge=0, lt=2**31)
    session_id: str | None = Field(None, max_length=100)
    roi_pct: float | None = _F
    sharpe_ratio: float | None = _F
    max_drawdown_pct: float | None = _F
    total_trades: int | None = Field(None, ge=0, lt=2**31)
    reward_sum: float | None = _F
    sortino_ratio: float | None = _F
    env_index: int | None = Field(None, ge=0, lt=2**31)
    data_start: str | None = Field(None, max_length=40)
    data_end: str | None = Field(None, max_length=40)
    length: int | None = Field(None, ge=0, lt=2**31)
    sortino: float | None = _F
    fees: float | None = _F
    buy_hold_roi_pct: float | None = _F
    final_equity: float | None = _F
    terminated: bool | None = None
    truncated: bool | None = None
    wall_time_s: float | None = _F
    global_step: int | None = Field(None, ge=0, lt=2**63)
    extra: dict[str, Any] | None = None


class RunComplete(_Request):
    """Optional body of ``POST /runs/{id}/complete`` (the original sends none)."""

    model_config = ConfigDict(extra="ignore")

    status: Literal["finished", "failed"] = "finished"
    summary: dict[str, Any] | None = None
    total_steps: int | None = Field(None, ge=0, lt=2**63)


class ScalarCreate(_Request):
    key: str = Field(..., min_length=1, max_length=200)
    step: int = Field(..., ge=0, lt=2**63)
    value: float | None = _F
    wall_time: float | None = _F


class RunPublic(_Open):
    run_id: str
    status: str
    config: dict[str, Any]
    episodes_total: int | None = None
    episodes_completed: int
    started_at: str | None
    completed_at: str | None


class RunsPublic(_Open):
    runs: list[RunPublic]
    count: int


class LearningCurvePublic(_Open):
    run_id: str
    metric: str
    window: int
    episode_numbers: list[int]
    raw_values: list[float]
    smoothed: list[float]


class RunsCompare(_Open):
    runs: list[RunPublic]
    count: int

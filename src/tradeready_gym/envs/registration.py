"""Registration is data: one `gymnasium.register` call per environment id.

Each id points at a ``"module:factory"`` entry point and a ``vector_entry_point``, so
``gymnasium.make(id, ...)`` builds a `TradingEnv` and ``gymnasium.make_vec(id, num_envs=N, ...)``
builds the native `TradeReadyVectorEnv`.
"""

from __future__ import annotations

from typing import Any

import gymnasium

__all__ = ["ENV_IDS", "ENV_SPECS", "LIVE_ENV_ID", "register_all"]

_SINGLE = "tradeready_gym.envs.presets:make_historical_env"
_SINGLE_VEC = "tradeready_gym.envs.presets:make_historical_vector_env"
_PORTFOLIO = "tradeready_gym.envs.presets:make_portfolio_env"
_PORTFOLIO_VEC = "tradeready_gym.envs.presets:make_portfolio_vector_env"

#: id -> (entry point, vector entry point, fixed keyword arguments)
ENV_SPECS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "TradeReady-BTC-v0": (_SINGLE, _SINGLE_VEC, {"symbol": "BTCUSDT", "action_type": "discrete"}),
    "TradeReady-ETH-v0": (_SINGLE, _SINGLE_VEC, {"symbol": "ETHUSDT", "action_type": "discrete"}),
    "TradeReady-SOL-v0": (_SINGLE, _SINGLE_VEC, {"symbol": "SOLUSDT", "action_type": "discrete"}),
    "TradeReady-BTC-Continuous-v0": (_SINGLE, _SINGLE_VEC, {"symbol": "BTCUSDT", "action_type": "continuous"}),
    "TradeReady-ETH-Continuous-v0": (_SINGLE, _SINGLE_VEC, {"symbol": "ETHUSDT", "action_type": "continuous"}),
    "TradeReady-Portfolio-v0": (_PORTFOLIO, _PORTFOLIO_VEC, {"action_type": "portfolio"}),
}

ENV_IDS: tuple[str, ...] = tuple(ENV_SPECS)

#: The live paper-trading env (needs the ``[live]`` extra and a Binance or replay feed; no vector
#: entry point, and not in `ENV_IDS`, which lists the envs that run offline on cached candles).
LIVE_ENV_ID = "TradeReady-Live-v0"
_LIVE = "tradeready_gym.live.env:make_live_env"


def register_all() -> None:
    """Register every TradeReady environment id with Gymnasium (idempotent)."""
    for env_id, (entry, vector_entry, kwargs) in ENV_SPECS.items():
        if env_id in gymnasium.registry:
            continue
        gymnasium.register(
            id=env_id,
            entry_point=entry,
            vector_entry_point=vector_entry,
            kwargs=dict(kwargs),
            disable_env_checker=False,
            # the env raises gymnasium's ResetNeeded itself (step and render before reset), so
            # gymnasium's OrderEnforcing wrapper would only add a layer to every step
            order_enforce=False,
        )
    if LIVE_ENV_ID not in gymnasium.registry:
        gymnasium.register(id=LIVE_ENV_ID, entry_point=_LIVE, disable_env_checker=False)

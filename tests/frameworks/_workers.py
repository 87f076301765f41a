"""Env factories run inside fresh worker processes (spawn): they check that the worker has not
imported tradeready_gym before ``gymnasium.make`` resolves the ``tradeready_gym:`` id form."""

from __future__ import annotations

import sys
from typing import Any


def make_by_id_in_a_fresh_worker(env_id: str, **kwargs: Any) -> Any:
    import gymnasium as gym

    if "tradeready_gym" in sys.modules:
        raise RuntimeError("the worker imported tradeready_gym before gymnasium.make")
    env = gym.make(env_id, **kwargs)
    assert "tradeready_gym" in sys.modules
    return env

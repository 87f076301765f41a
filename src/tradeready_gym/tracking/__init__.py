"""Training tracking: runs, episodes, scalars and traces in a local store (optionally shipped to the platform).

The names load lazily, so ``import tradeready_gym.tracking`` does not import SQLAlchemy:

* `TrainingTracker` (``tradeready_gym.tracking.tracker``): attached to every preset env and vector env
  with ``track_training=True`` (the default).
* `Store` (``tradeready_gym.tracking.store``): the database (``$TRADEREADY_HOME/tracking.sqlite``).
* `encode_trace` / `decode_trace` (``tradeready_gym.tracking.traces``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Store", "TrainingTracker", "decode_trace", "default_store_path", "encode_trace"]

_LAZY = {
    "TrainingTracker": "tradeready_gym.tracking.tracker",
    "Store": "tradeready_gym.tracking.store",
    "default_store_path": "tradeready_gym.tracking.store",
    "encode_trace": "tradeready_gym.tracking.traces",
    "decode_trace": "tradeready_gym.tracking.traces",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tradeready_gym.tracking' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)

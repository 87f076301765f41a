"""The published package's ``tradeready_gym.utils``: `TrainingTracker` (from `tradeready_gym.tracking`).

Resolved on first access, so ``import tradeready_gym.utils`` stays light.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TrainingTracker"]


def __getattr__(name: str) -> Any:
    if name == "TrainingTracker":
        from tradeready_gym import tracking

        return tracking.TrainingTracker
    raise AttributeError(f"module 'tradeready_gym.utils' has no attribute {name!r}")

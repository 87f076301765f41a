"""The published import path of `TrainingTracker` (implemented in `tradeready_gym.tracking`)."""

from __future__ import annotations

from typing import Any

__all__ = ["TrainingTracker"]  # noqa: F822 (resolved by __getattr__)


def __getattr__(name: str) -> Any:
    if name == "TrainingTracker":
        from tradeready_gym import tracking

        return tracking.TrainingTracker
    raise AttributeError(f"module 'tradeready_gym.utils.training_tracker' has no attribute {name!r}")

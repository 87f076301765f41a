"""Re-export of `tradeready_gym.components` (`BatchState`, `Component`) under its former name."""

from __future__ import annotations

from tradeready_gym.components import BatchState, Component

__all__ = ["BatchState", "Component"]

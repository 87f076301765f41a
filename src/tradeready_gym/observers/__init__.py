"""Observers: what an agent sees at each decision (a window ending at the clock, plus account scalars)."""

from tradeready_gym.observers.window import SCALARS, Observer, WindowObserver

__all__ = ["SCALARS", "Observer", "WindowObserver"]

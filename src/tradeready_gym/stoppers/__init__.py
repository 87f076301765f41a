"""Stoppers: decide, per env, when an episode ends (``terminated``) or is cut short (``truncated``)."""

from tradeready_gym.stoppers.stoppers import (
    CompositeStopper,
    EndOfDataStopper,
    EpisodeLengthStopper,
    EquityFloorStopper,
    StandardStopper,
    Stopper,
    default_stopper,
)

__all__ = [
    "CompositeStopper",
    "EndOfDataStopper",
    "EpisodeLengthStopper",
    "EquityFloorStopper",
    "StandardStopper",
    "Stopper",
    "default_stopper",
]

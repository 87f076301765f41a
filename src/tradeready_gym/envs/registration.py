"""Registration is data: one `gymnasium.register` call per environment id."""

from __future__ import annotations

__all__ = ["ENV_IDS", "register_all"]

ENV_IDS: tuple[str, ...] = ()


def register_all() -> None:
    """Register every TradeReady environment id with Gymnasium (idempotent)."""

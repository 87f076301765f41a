"""Shared router pieces: documented error responses."""

from __future__ import annotations

from typing import Any

from tradeready_platform.schemas import ErrorResponse

__all__ = ["ERRORS", "errors"]

_DESC = {
    400: "Bad request (error envelope)",
    401: "Missing or invalid API key",
    404: "Not found (or another account's object)",
    409: "Invalid state",
    429: "Rate limit exceeded",
}
ERRORS: dict[int | str, dict[str, Any]] = {c: {"model": ErrorResponse, "description": d} for c, d in _DESC.items()}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The envelope documented for 401, 429 and ``codes``."""
    return {c: ERRORS[c] for c in (401, 429, *codes)}

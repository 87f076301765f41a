"""Framework tests: tiny budgets on real candles from the local cache (``real_cache``)."""

from __future__ import annotations

START, END = "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z"

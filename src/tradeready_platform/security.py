"""API keys: ``ak_live_`` + 40 random URL-safe characters, stored as SHA-256 with a lookup prefix."""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["KEY_PREFIX", "LOOKUP_LEN", "generate_key", "hash_key", "lookup_prefix"]

KEY_PREFIX = "ak_live_"
#: Characters of the key kept in clear for lookup (``ak_live_`` + 8 random characters).
LOOKUP_LEN = len(KEY_PREFIX) + 8


def generate_key() -> str:
    """A new random API key (shown once; only its hash is stored)."""
    return KEY_PREFIX + secrets.token_urlsafe(30)


def hash_key(key: str) -> str:
    """Hex SHA-256 of ``key``."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def lookup_prefix(key: str) -> str:
    """The stored clear prefix of ``key``."""
    return key[:LOOKUP_LEN]

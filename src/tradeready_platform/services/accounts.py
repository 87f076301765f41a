"""Accounts and API keys."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import select

from tradeready_platform.db import Database
from tradeready_platform.errors import ApiError
from tradeready_platform.models import Account, ApiKey, utcnow
from tradeready_platform.security import generate_key, hash_key, lookup_prefix

__all__ = ["AccountService", "Identity"]

#: ``(account_id, api_key_id)`` of an authenticated request.
Identity = tuple[int, int]


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


class AccountService:
    """Creates accounts and keys and resolves a presented key to its account.

    Resolved keys are cached in memory (by their SHA-256) for ``cache_s`` seconds; revoking a key
    through this service drops it from the cache at once, a key revoked elsewhere (``tradeready keys
    revoke``) stops working within ``cache_s``.
    """

    def __init__(self, db: Database, cache_s: float = 30.0) -> None:
        self.db = db
        self.cache_s = cache_s
        self._cache: dict[str, tuple[Identity, float]] = {}
        self._lock = threading.Lock()

    def register(self, display_name: str, email: str | None = None) -> dict[str, Any]:
        """A new account with its first key (the key is in the result, and never again)."""
        with self.db.session() as s:
            acct = Account(display_name=display_name, email=email)
            s.add(acct)
            s.flush()
            key, row = self._new_key(s, acct.id, "default")
            return {
                "account_id": acct.id,
                "display_name": acct.display_name,
                "email": acct.email,
                "api_key": key,
                "key_id": row.id,
                "key_prefix": row.prefix,
                "created_at": _iso(acct.created_at),
                "message": "Store the API key now: it is shown once and stored only as a hash.",
            }

    def _new_key(self, s: Any, account_id: int, name: str) -> tuple[str, ApiKey]:
        key = generate_key()
        row = ApiKey(account_id=account_id, prefix=lookup_prefix(key), key_hash=hash_key(key), name=name)
        s.add(row)
        s.flush()
        return key, row

    def create_key(self, account_id: int, name: str = "default") -> dict[str, Any]:
        """Another key for an existing account."""
        with self.db.session() as s:
            if s.get(Account, account_id) is None:
                raise ApiError(404, "ACCOUNT_NOT_FOUND", f"account {account_id} not found")
            key, row = self._new_key(s, account_id, name)
            return {"account_id": account_id, "api_key": key, "key_id": row.id, "key_prefix": row.prefix,
                    "name": name, "created_at": _iso(row.created_at)}

    def list_keys(self, account_id: int) -> list[dict[str, Any]]:
        """The account's keys (prefix and dates; never the key)."""
        with self.db.session() as s:
            rows = s.scalars(select(ApiKey).where(ApiKey.account_id == account_id).order_by(ApiKey.id))
            return [{"key_id": r.id, "key_prefix": r.prefix, "name": r.name, "created_at": _iso(r.created_at),
                     "revoked_at": _iso(r.revoked_at)} for r in rows]

    def revoke_key(self, account_id: int, key_id: int) -> dict[str, Any]:
        """Revoke one of the account's keys (404 for another account's key)."""
        with self.db.session() as s:
            row = s.get(ApiKey, key_id)
            if row is None or row.account_id != account_id:
                raise ApiError(404, "KEY_NOT_FOUND", f"API key {key_id} not found")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            h = row.key_hash
            out = {"key_id": row.id, "key_prefix": row.prefix, "revoked_at": _iso(row.revoked_at)}
        with self._lock:
            self._cache.pop(h, None)
        return out

    def account(self, account_id: int) -> dict[str, Any]:
        with self.db.session() as s:
            a = s.get(Account, account_id)
            if a is None:
                raise ApiError(404, "ACCOUNT_NOT_FOUND", f"account {account_id} not found")
            return {"account_id": a.id, "display_name": a.display_name, "email": a.email,
                    "created_at": _iso(a.created_at)}

    def cached(self, key: str) -> Identity | None:
        """The identity of ``key`` if it was resolved before (no database access)."""
        hit = self._cache.get(hash_key(key))
        if hit is None or hit[1] < time.monotonic():
            return None
        return hit[0]

    def authenticate(self, key: str) -> Identity | None:
        """``(account_id, key_id)`` of a valid, unrevoked key; None otherwise."""
        if not key or not key.startswith("ak_live_") or len(key) > 200:
            return None
        h = hash_key(key)
        hit = self._cache.get(h)
        if hit is not None and hit[1] >= time.monotonic():
            return hit[0]
        with self.db.session() as s:
            row = s.scalars(
                select(ApiKey).where(ApiKey.prefix == lookup_prefix(key), ApiKey.key_hash == h)
            ).first()
            if row is None or row.revoked_at is not None:
                return None
            ident = (row.account_id, row.id)
        with self._lock:
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[h] = (ident, time.monotonic() + self.cache_s)
        return ident

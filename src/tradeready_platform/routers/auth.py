"""``/api/v1/auth``: registration (public, limited per IP) and ``/api/v1/account``: keys of the caller."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from tradeready_platform.deps import AccountId, Accounts
from tradeready_platform.routers.common import ERRORS, errors
from tradeready_platform.schemas import (
    AccountCreate,
    AccountCreated,
    AccountPublic,
    KeyCreate,
    KeyPublic,
    KeysPublic,
)

__all__ = ["account_router", "router"]

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
account_router = APIRouter(prefix="/api/v1/account", tags=["account"])


@router.post("/register", status_code=201, response_model=AccountCreated, responses={429: ERRORS[429]})
def register(body: AccountCreate, accounts: Accounts) -> JSONResponse:
    """Create an account and its first API key (``ak_live_...``, shown once)."""
    return JSONResponse(accounts.register(body.display_name, body.email), status_code=201)


@account_router.get("/info", response_model=AccountPublic, responses=errors())
def info(account_id: AccountId, accounts: Accounts) -> JSONResponse:
    """The caller's account."""
    return JSONResponse(accounts.account(account_id))


@account_router.get("/keys", response_model=KeysPublic, responses=errors())
def list_keys(account_id: AccountId, accounts: Accounts) -> JSONResponse:
    """The caller's keys (prefixes only)."""
    return JSONResponse({"keys": accounts.list_keys(account_id)})


@account_router.post("/keys", status_code=201, response_model=KeyPublic, responses=errors())
def create_key(body: KeyCreate, account_id: AccountId, accounts: Accounts) -> JSONResponse:
    """Another key for the caller's account (shown once)."""
    return JSONResponse(accounts.create_key(account_id, body.name), status_code=201)


@account_router.post("/keys/{key_id}/revoke", response_model=KeyPublic, responses=errors(404))
def revoke_key(key_id: int, account_id: AccountId, accounts: Accounts) -> JSONResponse:
    """Revoke one of the caller's keys."""
    return JSONResponse(accounts.revoke_key(account_id, key_id))

"""The error envelope ``{"error": {"code", "message", "details"}}`` and the exception that produces it."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ["ApiError", "error_body", "install_error_handlers"]

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "INVALID_API_KEY",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    429: "RATE_LIMIT_EXCEEDED",
}


class ApiError(Exception):
    """An error answered with the envelope and ``status``.

    Args:
        status: HTTP status code.
        code: machine-readable code of the original platform (``BACKTEST_NOT_FOUND``, ...).
        message: human-readable text naming the bad value and what is allowed.
        details: optional extra data.
        headers: optional response headers.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The envelope as a dict."""
    return {"error": {"code": code, "message": message, "details": details}}


def install_error_handlers(app: FastAPI) -> None:
    """Answer `ApiError`, HTTP errors and unexpected exceptions with the envelope.

    Request validation errors keep FastAPI's default 422 ``{"detail": [...]}`` (as the original).
    """

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, exc.details), exc.status, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
        return JSONResponse(
            error_body(code, str(exc.detail)), exc.status_code, headers=getattr(exc, "headers", None)
        )

    from sqlalchemy.exc import DataError as DbDataError

    @app.exception_handler(DbDataError)
    async def _db_data_error(request: Request, exc: DbDataError) -> JSONResponse:
        # a value the database cannot store or compare (e.g. a NUL character on PostgreSQL)
        return JSONResponse(error_body("VALIDATION_ERROR", f"a value of the request is not allowed: {exc.orig}"), 400)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("INTERNAL_ERROR", "internal server error"), 500)

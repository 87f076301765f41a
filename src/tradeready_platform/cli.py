"""``tradeready serve`` and ``tradeready keys ...`` (registered by `tradeready_gym.cli`).

Both read the server `Settings` from the environment (``TRADEREADY_DATABASE_URL``, ``TRADEREADY_HOME``,
...); options given on the command line win.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

import typer

__all__ = ["keys_app", "register", "serve"]

keys_app = typer.Typer(help="API keys of the platform server (the key is shown once).", no_args_is_help=True)


def _settings(database_url: str | None = None, **kw: Any) -> Any:
    try:
        from tradeready_platform.settings import Settings
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installed extras
        raise typer.BadParameter(
            f"the server needs the [server] extra ({exc.name} is missing): pip install 'tradeready-gym[server]'"
        ) from exc
    if database_url:
        kw["database_url"] = database_url
    return Settings(**{k: v for k, v in kw.items() if v is not None})


DbOpt = Annotated[str | None, typer.Option("--database-url", help="SQLAlchemy URL (default TRADEREADY_DATABASE_URL "
                                           "or a SQLite file in TRADEREADY_HOME)")]


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000)")] = None,
    database_url: DbOpt = None,
    data_dir: Annotated[str | None, typer.Option(help="Candle cache (default TRADEREADY_DATA_DIR)")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Run the platform server (FastAPI + uvicorn); migrations are applied at start.

    \b
    Examples:
      tradeready serve
      tradeready serve --port 8080 --database-url postgresql+psycopg://user:pw@127.0.0.1/tradeready
    """
    settings = _settings(database_url, host=host, port=port, data_dir=data_dir)
    import uvicorn

    from tradeready_platform.main import create_app

    logging.basicConfig(level=log_level.upper())
    app = create_app(settings)
    typer.echo(f"tradeready platform on http://{settings.host}:{settings.port} "
               f"(database: {app.state.db.dialect}; API docs at /docs)")
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level, access_log=False)


@keys_app.command("create")
def keys_create(
    account_id: Annotated[int | None, typer.Option(help="Add the key to this account (default: a new account)")] = None,
    display_name: Annotated[str, typer.Option(help="Name of the new account")] = "trader",
    name: Annotated[str, typer.Option(help="Label of the key")] = "default",
    database_url: DbOpt = None,
) -> None:
    """Create an API key (and an account unless --account-id is given); prints the key once.

    \b
    Examples:
      tradeready keys create --display-name alice
      tradeready keys create --account-id 1 --name laptop
    """
    from tradeready_platform.db import Database
    from tradeready_platform.errors import ApiError
    from tradeready_platform.services.accounts import AccountService

    db = Database(_settings(database_url).resolved_database_url)
    try:
        svc = AccountService(db)
        try:
            out = svc.register(display_name) if account_id is None else svc.create_key(account_id, name)
        except ApiError as exc:
            raise typer.BadParameter(exc.message, param_hint="--account-id") from exc
    finally:
        db.dispose()
    typer.echo(f"account_id: {out['account_id']}")
    typer.echo(f"key_id: {out['key_id']}")
    typer.echo(f"api_key: {out['api_key']}")
    typer.echo("Store the key now: it is shown once and stored only as a SHA-256 hash.", err=True)


@keys_app.command("list")
def keys_list(
    account_id: Annotated[int, typer.Option(help="Account whose keys to list")],
    database_url: DbOpt = None,
) -> None:
    """List an account's keys (prefixes only).

    \b
    Examples:
      tradeready keys list --account-id 1
    """
    from tradeready_platform.db import Database
    from tradeready_platform.services.accounts import AccountService

    db = Database(_settings(database_url).resolved_database_url)
    try:
        for k in AccountService(db).list_keys(account_id):
            typer.echo(f"{k['key_id']}\t{k['key_prefix']}...\t{k['name']}\tcreated {k['created_at']}"
                       f"\t{'revoked ' + k['revoked_at'] if k['revoked_at'] else 'active'}")
    finally:
        db.dispose()


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[int, typer.Argument(help="Key id (from keys list)")],
    account_id: Annotated[int, typer.Option(help="Owner of the key")],
    database_url: DbOpt = None,
) -> None:
    """Revoke a key (a running server drops it on its next restart, or at once when revoked over the API).

    \b
    Examples:
      tradeready keys revoke 3 --account-id 1
    """
    from tradeready_platform.db import Database
    from tradeready_platform.errors import ApiError
    from tradeready_platform.services.accounts import AccountService

    db = Database(_settings(database_url).resolved_database_url)
    try:
        out = AccountService(db).revoke_key(account_id, key_id)
    except ApiError as exc:
        raise typer.BadParameter(exc.message, param_hint="key_id") from exc
    finally:
        db.dispose()
    typer.echo(f"revoked key {out['key_id']} ({out['key_prefix']}...)")


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``keys`` to the ``tradeready`` command line."""
    app.command("serve")(serve)
    app.add_typer(keys_app, name="keys")

"""The ``tradeready`` command line: thin, it parses arguments and calls library functions."""

from __future__ import annotations

import typer

__all__ = ["app", "main"]

app = typer.Typer(help="tradeready-gym: trading environments on real Binance candles.", no_args_is_help=True)


def _add_subcommands() -> None:
    from tradeready_gym import _cli_data

    app.add_typer(_cli_data.app, name="data")


def main() -> None:
    """Entry point of the ``tradeready`` console script."""
    _add_subcommands()
    app()

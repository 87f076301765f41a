"""``tradeready data ...``: download, import and list cached candles."""

from __future__ import annotations

import typer

app = typer.Typer(help="Download, import and list market data.", no_args_is_help=True)

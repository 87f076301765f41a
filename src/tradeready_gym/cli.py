"""The ``tradeready`` command line: thin, it parses arguments and calls library functions."""

from __future__ import annotations

import typer

__all__ = ["app", "main"]

app = typer.Typer(help="tradeready-gym: trading environments on real Binance candles.", no_args_is_help=True)

_added = False


def _add_subcommands() -> None:
    global _added
    if _added:
        return
    from tradeready_gym import _cli_data, _cli_run, _cli_warmup

    app.add_typer(_cli_data.app, name="data")
    from tradeready_gym import _cli_runs

    app.add_typer(_cli_runs.app, name="runs")
    app.command("episode")(_cli_run.episode)
    app.command("warmup")(_cli_warmup.warmup)
    from tradeready_gym import _cli_pipeline

    for _name in ("train", "evaluate", "walkforward", "compare", "report"):
        app.command(_name)(getattr(_cli_pipeline, _name))
    from tradeready_platform.cli import register as _register_platform

    _register_platform(app)
    from tradeready_platform.dashboard import cli as _cli_dashboard

    app.command("dashboard")(_cli_dashboard.dashboard)
    from tradeready_gym import _cli_live

    app.add_typer(_cli_live.app, name="live")
    app.command("deploy")(_cli_live.deploy)
    _added = True


def main() -> None:
    """Entry point of the ``tradeready`` console script."""
    _add_subcommands()
    app()

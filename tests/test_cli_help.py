"""Every ``tradeready`` command and subcommand shows an ``Examples:`` section in ``--help``."""

from __future__ import annotations

import shlex
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from tradeready_gym import cli

runner = CliRunner()

#: The commands of the product definition (SPEC §6); each must exist and be documented with examples.
SPEC_COMMANDS = [
    ("data", "download"),
    ("data", "import"),
    ("data", "list"),
    ("data", "verify"),
    ("train",),
    ("evaluate",),
    ("compare",),
    ("report",),
    ("runs", "list"),
    ("runs", "show"),
    ("runs", "sync"),
    ("runs", "export"),
    ("serve",),
    ("dashboard",),
    ("deploy",),
]


def _all_commands() -> list[tuple[str, ...]]:
    """Every leaf command of the installed ``tradeready`` app, as its argv path."""
    cli._add_subcommands()
    root = typer.main.get_command(cli.app)
    out: list[tuple[str, ...]] = []

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        if hasattr(cmd, "commands"):  # a group (typer may vendor its own click)
            for name, sub in cmd.commands.items():
                walk(sub, (*path, name))
        else:
            out.append(path)

    walk(root, ())
    return out


ALL_COMMANDS = _all_commands()


def test_the_spec_commands_exist() -> None:
    missing = [c for c in SPEC_COMMANDS if c not in ALL_COMMANDS]
    assert not missing


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=" ".join)
def test_help_has_examples(path: tuple[str, ...]) -> None:
    res = runner.invoke(cli.app, [*path, "--help"], terminal_width=200, env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "Usage: " in res.output and " ".join(path) in res.output
    lines = res.output.splitlines()
    at = next((i for i, ln in enumerate(lines) if ln.strip(" │") == "Examples:"), None)
    assert at is not None, f"tradeready {' '.join(path)} --help has no Examples section:\n{res.output}"
    examples = [e for e in (ln.strip(" │") for ln in lines[at + 1 : at + 6]) if e.startswith("tradeready ")]
    assert any(e.startswith(f"tradeready {' '.join(path)}") for e in examples), res.output
    for e in examples:  # every option an example uses exists (an unknown option fails the parse)
        argv = shlex.split(e)[1:]
        ex = runner.invoke(cli.app, [*argv, "--help"], terminal_width=200, env={"COLUMNS": "200"})
        assert ex.exit_code == 0, f"example {e!r} does not parse:\n{ex.output}"

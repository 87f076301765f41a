"""The runnable examples in the engine's docstrings stay correct."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["config", "core", "costs", "metrics"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(f"tradeready_gym.engine.{name}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_engine_imports_neither_gymnasium_nor_pandas():
    """The engine modules themselves (the package root registers environments, so it is not checked)."""
    import ast
    from pathlib import Path

    import tradeready_gym.engine as engine

    found = []
    for path in Path(engine.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [(path.name, n) for n in names if n.split(".")[0] in ("gymnasium", "pandas")]
    assert found == []

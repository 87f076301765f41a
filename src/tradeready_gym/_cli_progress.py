"""Progress bars of the CLI commands (downloads, training, evaluation): one rich display on stderr."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["progress_bars"]


@contextmanager
def progress_bars(enabled: bool = True, unit: str | None = None) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress display on stderr whose ``update(label, done, total)`` adds or advances one bar
    per label. ``unit`` names what is counted (e.g. ``"requests"``); without it the bars show the
    time remaining. Nothing is drawn when ``enabled`` is False."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns: list[ProgressColumn] = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    columns += [TextColumn(unit), TimeElapsedColumn()] if unit else [TimeElapsedColumn(), TimeRemainingColumn()]
    prog = Progress(*columns, console=Console(stderr=True), disable=not enabled)
    tasks: dict[str, object] = {}

    def update(label: str, done: int, total: int) -> None:
        if label not in tasks:
            tasks[label] = prog.add_task(label, total=total)
        prog.update(tasks[label], completed=min(done, total), total=total)  # type: ignore[arg-type]

    with prog:
        yield update

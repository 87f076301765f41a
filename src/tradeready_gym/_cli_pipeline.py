"""``tradeready train | evaluate | walkforward | compare | report``: the pipeline commands (thin)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from tradeready_gym._cli_progress import progress_bars
from tradeready_gym.errors import TradeReadyError

__all__ = ["compare", "evaluate", "report", "train", "walkforward"]

log = logging.getLogger(__name__)


def _fail(exc: BaseException) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(code=1)


def train(
    config: Annotated[Path, typer.Argument(help="YAML training config (see examples/train_ppo_btc.yaml).")],
    runs_dir: Annotated[Path | None, typer.Option("--runs-dir", help="Overrides output.runs_dir.")] = None,
    evaluate_after: Annotated[bool, typer.Option("--evaluate/--no-evaluate",
                                                 help="Evaluate each seed on data.test afterwards.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Train Stable-Baselines3 on the native vector env, one tracked run per seed.

    \b
    Examples:
      tradeready train examples/train_ppo_btc.yaml
      tradeready train my.yaml --runs-dir runs --evaluate
    """
    from tradeready_gym.pipeline.config import load_config
    from tradeready_gym.pipeline.train import train as run_train

    try:
        cfg = load_config(config)
        with progress_bars(not quiet) as update:
            res = run_train(cfg, runs_dir=runs_dir,
                            progress=lambda k, s, n: update(f"train seed {cfg.training.seeds[k]}", s, n))
    except TradeReadyError as exc:
        raise _fail(exc) from None
    typer.echo(f"runs: {res.group_dir}")
    for d, rid in zip(res.run_dirs, res.run_ids, strict=True):
        typer.echo(f"  {d}  (run id {rid})")
    if evaluate_after and cfg.data.test is not None:
        for d in res.run_dirs:
            evaluate(d, quiet=quiet)


def evaluate(
    run: Annotated[Path, typer.Argument(help="A run folder (or a group folder: every seed) written by `train`.")],
    start: Annotated[str | None, typer.Option("--start", help="Test start, ISO 8601 (default: the config's data.test).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Test end, exclusive.")] = None,
    model: Annotated[str, typer.Option("--model", help="best (validation-selected) or final.")] = "best",
    force: Annotated[bool, typer.Option("--force", help="Evaluate even if the period overlaps training (+ purge gap).")] = False,
    seeds: Annotated[int | None, typer.Option("--random-seeds", help="Random policies (default: config, 100).")] = None,
    store: Annotated[str | None, typer.Option("--store", help="Tracking store path/URL (default: the run's).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output folder (default RUN/eval/<stamp>).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON summary instead of the table.")] = False,
    html: Annotated[bool, typer.Option("--html/--no-html", help="Also write report.html and PNGs.")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Evaluate a trained run on a held-out period against buy-and-hold, random policies and flat.

    \b
    Examples:
      tradeready evaluate runs/ppo-btc-20250101T000000/seed-0
      tradeready evaluate runs/ppo-btc-20250101T000000 --start 2024-09-01 --end 2024-12-01 --json
      tradeready evaluate RUN --force        # overlapping period: reported as NOT held out
    """
    from rich.console import Console

    from tradeready_gym.pipeline.evaluate import EvalSettings, evaluate_run
    from tradeready_gym.pipeline.report import summary_table, write_report
    from tradeready_gym.pipeline.runs import read_run, run_dirs

    console = Console()
    try:
        for d in run_dirs(run):
            info = read_run(d)
            settings = EvalSettings(**(info.data.get("evaluation") or {}))
            if seeds is not None:
                settings.random_seeds = seeds
            with progress_bars(not quiet and not as_json) as update:
                ev = evaluate_run(info, start, end, which=model, force=force, settings=settings, store=store,
                                  out_dir=out if out is not None and len(run_dirs(run)) == 1 else None,
                                  progress=update)
            if html:
                assert ev.out_dir is not None
                ev.files["html"] = str(write_report(ev.out_dir))
            if as_json:
                typer.echo(json.dumps({**ev.summary, "files": ev.files}, indent=2))
            else:
                console.print(summary_table(ev.summary))
                console.print(f"written: {ev.out_dir}")
    except TradeReadyError as exc:
        raise _fail(exc) from None


def walkforward(
    config: Annotated[Path, typer.Argument(help="YAML config with a walkforward: section.")],
    runs_dir: Annotated[Path | None, typer.Option("--runs-dir", help="Overrides output.runs_dir.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON result.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Walk-forward: train and evaluate on rolling or anchored folds with a purge gap.

    \b
    Examples:
      tradeready walkforward examples/train_ppo_btc.yaml
      tradeready walkforward my.yaml --json
    """
    from rich.console import Console

    from tradeready_gym.pipeline.config import load_config
    from tradeready_gym.pipeline.walkforward import fold_table, walk_forward

    try:
        cfg = load_config(config)
        with progress_bars(not quiet and not as_json) as update:
            res = walk_forward(cfg, runs_dir=runs_dir, progress=update)
    except TradeReadyError as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(res.summary, indent=2))
    else:
        Console().print(fold_table(res.summary))
        typer.echo(f"written: {res.out_dir}")


def compare(
    runs: Annotated[list[Path], typer.Argument(help="Evaluated run folders (or evaluation folders).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for compare.html and compare_equity.png.")] = Path("compare"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """Compare evaluated runs: a table and their equity curves overlaid.

    \b
    Examples:
      tradeready compare runs/a/seed-0 runs/b/seed-0
      tradeready compare runs/ppo-btc-20250101T000000 --out cmp   # every seed of a group
    """
    from rich.console import Console

    from tradeready_gym.pipeline.evaluate import load_evaluation
    from tradeready_gym.pipeline.report import compare_rows, compare_table, write_compare
    from tradeready_gym.pipeline.runs import run_dirs

    try:
        items: list[tuple[dict[str, Any], Any]] = []
        for r in runs:
            paths = [r] if (r / "evaluation.json").is_file() else run_dirs(r)
            items.extend(load_evaluation(p) for p in paths)
        page = write_compare(items, out)
    except TradeReadyError as exc:
        raise _fail(exc) from None
    if as_json:
        headers, rows = compare_rows([s for s, _ in items])
        typer.echo(json.dumps({"columns": headers, "rows": rows, "html": str(page)}, indent=2))
    else:
        Console().print(compare_table([s for s, _ in items]))
        typer.echo(f"written: {page}")


def report(
    run: Annotated[Path, typer.Argument(help="An evaluated run folder (its latest evaluation) or an evaluation folder.")],
) -> None:
    """Write the HTML report (equity vs buy-and-hold vs random band, drawdown, positions) with its PNGs.

    \b
    Examples:
      tradeready report runs/ppo-btc-20250101T000000/seed-0
      tradeready report runs/ppo-btc-20250101T000000/seed-0/eval/20250101T120000000000Z
    """
    from tradeready_gym.pipeline.report import write_report

    try:
        page = write_report(run)
    except TradeReadyError as exc:
        raise _fail(exc) from None
    typer.echo(f"written: {page}")

"""Walk-forward evaluation: train on a window, evaluate on the next held-out window, move on.

Folds over ``[walkforward.start, walkforward.end)`` (lengths in days, bar-aligned):

* ``rolling``: fold ``k`` trains on ``[start + k*step, start + k*step + train_days)``;
* ``anchored``: fold ``k`` trains on ``[start, start + train_days + k*step)``;

and tests on ``[train_end + purge gap, + test_days)``. ``step_days`` defaults to ``test_days``
and may not be shorter (test windows never overlap, so their equity curves can be stitched). The
purge gap is ``walkforward.purge_bars``, at least the observation window. Folds whose test window
would pass ``end`` are not made. Each fold trains the config's first seed (no validation period: its
final model is evaluated) and is evaluated like ``tradeready evaluate`` (agent, buy-and-hold,
random policies, flat; at zero fees and configured costs).

The result: a per-fold table, the stitched out-of-sample equity of the agent and of buy-and-hold
(each fold's curve chained onto the previous fold's end), and the share of folds whose agent beats
buy-and-hold after costs (higher return over the fold's test window).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tradeready_gym.errors import ConfigError
from tradeready_gym.pipeline import stats as S
from tradeready_gym.pipeline.config import DataConfig, PeriodConfig, TrainConfig
from tradeready_gym.timeframes import format_iso, parse_time, timeframe_ns

__all__ = ["Fold", "WalkForwardResult", "fold_table", "make_folds", "stitch", "walk_forward"]

log = logging.getLogger(__name__)
_DAY = 86_400 * 1_000_000_000


@dataclass(frozen=True)
class Fold:
    """One fold: training and test windows (ISO 8601, ends exclusive)."""

    index: int
    train_start: str
    train_end: str
    test_start: str
    test_end: str


@dataclass
class WalkForwardResult:
    """``summary`` (JSON-able: folds, stitched returns, share beating buy-and-hold) and the output folder."""

    summary: dict[str, Any]
    out_dir: Path


def make_folds(
    start: Any,
    end: Any,
    *,
    train_days: float,
    test_days: float,
    step_days: float | None = None,
    mode: str = "rolling",
    purge_bars: int = 0,
    timeframe: str = "1h",
) -> list[Fold]:
    """The folds of a walk-forward over ``[start, end)`` (see the module doc)."""
    if mode not in ("rolling", "anchored"):
        raise ConfigError(f"mode={mode!r} is not allowed; allowed: rolling, anchored")
    step_days = test_days if step_days is None else step_days
    if step_days < test_days:
        raise ConfigError(f"step_days={step_days!r} is shorter than test_days={test_days!r}; allowed: step_days >= "
                          "test_days (test windows must not overlap)")
    bar = timeframe_ns(timeframe)

    def align(ns: float) -> int:
        return int(ns // bar) * bar

    s, e = parse_time(start, param="start"), parse_time(end, param="end")
    train, test, step = align(train_days * _DAY), align(test_days * _DAY), align(step_days * _DAY)
    if train < bar or test < bar:
        raise ConfigError(f"train_days={train_days!r} / test_days={test_days!r} are shorter than one {timeframe} bar")
    gap = int(purge_bars) * bar
    folds = []
    k = 0
    while True:
        t0 = s if mode == "anchored" else s + k * step
        t1 = s + train + k * step
        a = t1 + gap
        b = a + test
        if b > e:
            break
        folds.append(Fold(k, format_iso(t0), format_iso(t1), format_iso(a), format_iso(b)))
        k += 1
    if not folds:
        raise ConfigError(
            f"no fold fits in {format_iso(s)} .. {format_iso(e)} with train_days={train_days}, test_days={test_days} "
            f"and a purge gap of {purge_bars} bars; allowed: a longer range or shorter windows"
        )
    return folds


def stitch(curves: list[np.ndarray], start: float = 1.0) -> np.ndarray:
    """Chain equity curves: each one rescaled to begin where the previous one ended."""
    out = [np.array([start], dtype=float)]
    level = float(start)
    for c in curves:
        c = np.asarray(c, dtype=float)
        seg = level * c / c[0]
        out.append(seg[1:])
        level = float(seg[-1])
    return np.concatenate(out)


def fold_table(summary: dict[str, Any]) -> Any:
    """A rich table of the folds plus the summary line."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    t = Table(title=f"walk-forward ({summary['mode']}, purge {summary['purge_bars']} bars)")
    for h in ("fold", "train", "test", "agent ROI %", "B&H ROI %", "agent Sharpe", "B&H Sharpe", "trades/day", "beats B&H"):
        t.add_column(h, justify="right" if "ROI" in h or "Sharpe" in h or "day" in h else "left")

    def f(x: Any, fmt: str) -> str:
        return "n/a" if x is None else fmt.format(x)

    for r in summary["folds"]:
        t.add_row(str(r["fold"]), f"{r['train_start'][:10]} .. {r['train_end'][:10]}",
                  f"{r['test_start'][:10]} .. {r['test_end'][:10]}", f(r["agent_roi_pct"], "{:+.2f}"),
                  f(r["bh_roi_pct"], "{:+.2f}"), f(r["agent_sharpe"], "{:.2f}"), f(r["bh_sharpe"], "{:.2f}"),
                  f(r["trades_per_day"], "{:.2f}"), "yes" if r["beats_bh"] else "no")
    st = summary["stitched"]
    line = Text(
        f"stitched out-of-sample: agent {f(st['agent_roi_pct'], '{:+.2f}')}% (Sharpe {f(st['agent_sharpe'], '{:.2f}')}), "
        f"buy-and-hold {f(st['bh_roi_pct'], '{:+.2f}')}% (Sharpe {f(st['bh_sharpe'], '{:.2f}')}); "
        f"folds beating buy-and-hold after costs: {summary['beats_bh']} of {len(summary['folds'])} "
        f"({100 * summary['share_beating_bh']:.0f}%)",
        style="bold",
    )
    return Group(t, line)


def walk_forward(
    cfg: TrainConfig,
    *,
    data: Any = None,
    runs_dir: str | Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> WalkForwardResult:
    """Run the walk-forward of ``cfg.walkforward``; writes ``walkforward.json`` and ``walkforward.png``."""
    from tradeready_gym.pipeline.evaluate import evaluate_run, min_purge_bars
    from tradeready_gym.pipeline.train import train

    wf = cfg.walkforward
    if wf is None:
        raise ConfigError("the config has no walkforward: section; allowed: walkforward: {start, end, train_days, test_days, ...}")
    kwargs = dict(cfg.env.kwargs)
    timeframe = str(kwargs.get("timeframe", "1h"))
    purge = max(min_purge_bars(kwargs), int(wf.purge_bars or 0), int(cfg.evaluation.purge_bars or 0))
    folds = make_folds(wf.start, wf.end, train_days=wf.train_days, test_days=wf.test_days, step_days=wf.step_days,
                       mode=wf.mode, purge_bars=purge, timeframe=timeframe)
    root = Path(runs_dir if runs_dir is not None else cfg.output.runs_dir)
    out = root / f"{cfg.name}-walkforward-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%S')}"
    out.mkdir(parents=True, exist_ok=False)
    rows: list[dict[str, Any]] = []
    agent_curves: list[np.ndarray] = []
    bh_curves: list[np.ndarray] = []
    interval = timeframe_ns(timeframe)
    for fold in folds:
        fc = copy.deepcopy(cfg)
        fc.name = f"fold-{fold.index}"
        fc.walkforward = None
        fc.training.seeds = cfg.training.seeds[:1]
        fc.data = DataConfig(train=PeriodConfig(fold.train_start, fold.train_end), validation=None,
                             test=PeriodConfig(fold.test_start, fold.test_end))
        fc.evaluation.purge_bars = purge
        cb = None if progress is None else (lambda _k, s, n, _i=fold.index: progress(f"fold {_i} train", s, n))
        res = train(fc, data=data, runs_dir=out, progress=cb)
        eprog: Callable[[str, int, int], None] | None = None
        if progress is not None:
            eprog = lambda lbl, d, n, _i=fold.index: progress(f"fold {_i} {lbl}", d, n)  # noqa: E731
        ev = evaluate_run(res.run_dirs[0], which="final", data=data, store=cfg.output.store, progress=eprog)
        s = ev.summary
        a, b = s["agent"]["costs"], s["buy_and_hold"]["costs"]
        rows.append({
            "fold": fold.index, "train_start": fold.train_start, "train_end": fold.train_end,
            "test_start": fold.test_start, "test_end": fold.test_end, "run_dir": str(res.run_dirs[0]),
            "agent_roi_pct": a["roi_pct"], "bh_roi_pct": b["roi_pct"], "agent_sharpe": a["sharpe"],
            "bh_sharpe": b["sharpe"], "trades_per_day": a["trades_per_day"], "fees": a["fees"],
            "agent_roi_zero_fees_pct": s["agent"]["zero_fees"]["roi_pct"],
            "random_percentile": s["random_percentile"]["roi"], "dsr": s["deflated_sharpe"]["dsr"],
            "beats_bh": bool(a["roi_pct"] is not None and b["roi_pct"] is not None and a["roi_pct"] > b["roi_pct"]),
        })
        agent_curves.append(ev.agent["costs"].equity[:, 0])
        bh_curves.append(ev.buy_and_hold["costs"].equity[:, 0])
    start_eq = float(kwargs.get("starting_balance", 10_000.0))
    sa, sb = stitch(agent_curves, start_eq), stitch(bh_curves, start_eq)
    ma = S.annualized_metrics(sa, interval_ns=interval)
    mb = S.annualized_metrics(sb, interval_ns=interval)
    from tradeready_gym.pipeline.rollout import finite_or_none

    beats = sum(r["beats_bh"] for r in rows)
    summary = {
        "name": cfg.name, "env_id": cfg.env.id, "mode": wf.mode, "purge_bars": purge,
        "train_days": wf.train_days, "test_days": wf.test_days, "step_days": wf.step_days or wf.test_days,
        "folds": rows,
        "stitched": {"agent_roi_pct": finite_or_none(ma["total_return_pct"]), "agent_sharpe": finite_or_none(ma["sharpe"]),
                     "agent_max_drawdown_pct": finite_or_none(ma["max_drawdown_pct"]),
                     "bh_roi_pct": finite_or_none(mb["total_return_pct"]), "bh_sharpe": finite_or_none(mb["sharpe"]),
                     "bh_max_drawdown_pct": finite_or_none(mb["max_drawdown_pct"]), "bars": int(sa.size - 1)},
        "beats_bh": beats,
        "share_beating_bh": beats / len(rows),
    }
    (out / "walkforward.json").write_text(json.dumps(summary, indent=2))
    np.savez_compressed(out / "stitched.npz", agent=sa, buy_and_hold=sb)
    try:
        from tradeready_gym.pipeline.report import _plt

        plt = _plt()
        fig, ax = plt.subplots(figsize=(10, 4))
        ax.plot(sa, label="agent (stitched out-of-sample)", color="tab:blue")
        ax.plot(sb, label="buy-and-hold", color="tab:orange", ls="--")
        pos = np.cumsum([0] + [c.size - 1 for c in agent_curves])
        for p in pos[1:-1]:
            ax.axvline(p, color="0.7", lw=0.6)
        ax.set_xlabel("test bars (folds separated by lines)")
        ax.set_ylabel("equity")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "walkforward.png", dpi=100)
        plt.close(fig)
    except ConfigError:  # pragma: no cover - matplotlib missing
        log.warning("matplotlib is not installed: walkforward.png not written")
    return WalkForwardResult(summary, out)

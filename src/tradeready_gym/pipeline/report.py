"""Terminal tables, HTML reports and PNG charts of evaluations (matplotlib and rich, imported lazily).

* `summary_table(summary)`: a rich table: agent, buy-and-hold, random (median, 5-95%), flat, each at
  the configured costs and at zero fees, plus the statistics and the verdict line.
* `write_report(path)`: ``report.html`` beside ``evaluation.json`` with three PNGs: equity vs
  buy-and-hold vs the random policies' 5-95% band, drawdown, positions over price.
* `compare_table(summaries)` and `write_compare(...)`: several evaluations side by side, with their
  equity curves overlaid.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import numpy as np

from tradeready_gym.errors import ConfigError

__all__ = ["compare_table", "summary_table", "write_compare", "write_report"]


def _f(x: Any, fmt: str = "{:,.2f}") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return fmt.format(x)


_COLS = (
    ("ROI %", "roi_pct", "{:+.2f}"),
    ("CAGR %", "cagr_pct", "{:+.1f}"),
    ("Sharpe", "sharpe", "{:.2f}"),
    ("Sortino", "sortino", "{:.2f}"),
    ("max DD %", "max_drawdown_pct", "{:.2f}"),
    ("trades/day", "trades_per_day", "{:.2f}"),
    ("fees", "fees", "{:,.2f}"),
)


def _rows(summary: dict[str, Any]) -> list[list[str]]:
    rows = []
    for costs in ("costs", "zero_fees"):
        tag = "after costs" if costs == "costs" else "zero fees"
        for label, key in (("agent", "agent"), ("buy-and-hold", "buy_and_hold"), ("flat", "flat")):
            r = summary[key][costs]
            rows.append([label, tag] + [_f(r.get(k), fmt) for _, k, fmt in _COLS])
        rnd = summary["random"][costs]
        cells = []
        for _, k, fmt in _COLS:
            if k in rnd:
                d = rnd[k]
                cells.append(f"{_f(d['median'], fmt)} [{_f(d['p05'], fmt)}, {_f(d['p95'], fmt)}]")
            else:
                cells.append("")
        rows.append([f"random x{rnd['n_seeds']}", tag, *cells])
    return rows


def _stat_lines(s: dict[str, Any]) -> list[str]:
    d = s["deflated_sharpe"]
    b = s["bootstrap_sharpe_diff"]
    p = s["random_percentile"]
    t = s["test"]
    return [
        f"test period {t['start']} .. {t['end']} ({t['bars']} bars of {s['timeframe']}, {t['days']:.1f} days); "
        f"held out: {'yes' if s['held_out'] else 'NO'} (purge gap {s['purge_bars']} bars)",
        f"agent percentile among random policies: ROI {_f(p['roi'], '{:.1f}')}, Sharpe {_f(p['sharpe'], '{:.1f}')}",
        f"probabilistic Sharpe ratio (vs 0): {_f(s['psr'], '{:.3f}')}; deflated Sharpe ratio: {_f(d['dsr'], '{:.3f}')} "
        f"with {int(d['n_trials'])} configuration(s) tried ({d['n_train_runs']} training runs in the store, "
        f"{d['models_on_period']} model(s) evaluated on this period); this test period used {s['test_period_uses']} time(s)",
        f"Sharpe difference vs buy-and-hold: {_f(b['diff'])}, {int(100 * b['confidence'])}% CI "
        f"[{_f(b['low'])}, {_f(b['high'])}] (stationary bootstrap, {int(b['n_boot'])} resamples, "
        f"mean block {b['mean_block']:.0f} bars)",
    ]


def summary_table(summary: dict[str, Any]) -> Any:
    """A rich renderable of an evaluation summary (table, statistics and verdict)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{summary['name']}  {summary['env_id']}  {', '.join(summary['symbols'])}", show_lines=False,
                  caption="random: median [5%, 95%] over the seeds; after costs: the configured fee and slippage")
    table.add_column("policy", no_wrap=True)
    table.add_column("costs", no_wrap=True)
    for name, _, _ in _COLS:
        table.add_column(name, justify="right")
    for row in _rows(summary):
        table.add_row(*row)
    lines = [Text(x) for x in _stat_lines(summary)]
    verdict = Text(summary["verdict"], style="bold")
    return Group(table, *lines, verdict)


# ---------------------------------------------------------------------------------------------- charts
def _plt() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - the [plot] extra
        raise ConfigError("reports need matplotlib: pip install 'tradeready-gym[plot]'") from None
    return plt


def _x(curves: dict[str, np.ndarray]) -> np.ndarray:
    import pandas as pd

    return pd.to_datetime(curves["times"]).to_numpy()


def _charts(curves: dict[str, np.ndarray], out: Path, title: str) -> dict[str, str]:
    plt = _plt()
    x = _x(curves)
    files = {}
    fig, ax = plt.subplots(figsize=(10, 4.5))
    band = curves["random_costs"]
    ax.fill_between(x, band[0], band[2], color="0.8", label="random policies 5-95%")
    ax.plot(x, band[1], color="0.5", lw=0.8, label="random median")
    ax.plot(x, curves["bh_costs"], color="tab:orange", lw=1.2, label="buy-and-hold")
    ax.plot(x, curves["agent_costs"], color="tab:blue", lw=1.5, label="agent")
    ax.plot(x, curves["agent_zero_fees"], color="tab:blue", lw=0.8, ls="--", label="agent, zero fees")
    ax.set_title(f"{title}: equity (configured costs)")
    ax.set_ylabel("equity (USDT)")
    ax.legend(loc="best", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(out / "equity.png", dpi=100)
    plt.close(fig)
    files["equity"] = "equity.png"

    fig, ax = plt.subplots(figsize=(10, 3))
    for key, label, color in (("agent_costs", "agent", "tab:blue"), ("bh_costs", "buy-and-hold", "tab:orange")):
        e = curves[key]
        ax.fill_between(x, 100 * (e / np.maximum.accumulate(e) - 1), 0, alpha=0.35, color=color, label=label)
    ax.set_ylabel("drawdown %")
    ax.set_title("drawdown")
    ax.legend(loc="lower left", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(out / "drawdown.png", dpi=100)
    plt.close(fig)
    files["drawdown"] = "drawdown.png"

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 5), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    close = curves["close"]
    ax1.plot(x, close[:, 0], color="0.2", lw=0.8, label="close")
    steps, sides = curves["fill_step"], curves["fill_side"]
    if steps.size:
        sel = steps < x.size
        for side, marker, color, name in ((1, "^", "tab:green", "buy"), (-1, "v", "tab:red", "sell")):
            m = sel & (sides == side)
            ax1.scatter(x[steps[m]], curves["fill_price"][m], marker=marker, color=color, s=14, label=name, zorder=3)
    ax1.set_title("positions over price")
    ax1.legend(loc="best", fontsize=8)
    ax2.fill_between(x, 100 * curves["agent_exposure"], 0, step="post", color="tab:blue", alpha=0.5)
    ax2.set_ylabel("invested %")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(out / "positions.png", dpi=100)
    plt.close(fig)
    files["positions"] = "positions.png"
    return files


def _html_table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
    ".verdict{font-size:1.2em;font-weight:bold;padding:.6em;background:#f3f3f3;border-left:4px solid #444}"
    "img{max-width:100%;display:block;margin:1em 0}"
)


def write_report(path: str | Path) -> Path:
    """Write ``report.html`` (and its PNGs) for an evaluation folder or a run's latest evaluation."""
    from tradeready_gym.pipeline.evaluate import load_evaluation

    summary, curves = load_evaluation(path)
    out = Path(summary["_dir"])
    files = _charts(curves, out, summary["name"])
    headers = ["policy", "costs"] + [c[0] for c in _COLS]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(summary['name'])}: evaluation</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(summary['name'])}</h1>",
        f"<p>{html.escape(summary['env_id'])} &middot; {html.escape(', '.join(summary['symbols']))} &middot; "
        f"{html.escape(summary['timeframe'])}</p>",
        f"<p class='verdict'>{html.escape(summary['verdict'])}</p>",
        _html_table(headers, _rows(summary)),
        "<p>random: median [5%, 95%] over the seeds; after costs: the configured fee and slippage</p>",
        "<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in _stat_lines(summary)) + "</ul>",
    ]
    for key in ("equity", "drawdown", "positions"):
        parts.append(f"<img src='{files[key]}' alt='{key}'>")
    parts.append("</body></html>")
    report = out / "report.html"
    report.write_text("\n".join(parts))
    return report


# ---------------------------------------------------------------------------------------------- compare
_CMP = (
    ("ROI %", ("agent", "costs", "roi_pct"), "{:+.2f}"),
    ("Sharpe", ("agent", "costs", "sharpe"), "{:.2f}"),
    ("max DD %", ("agent", "costs", "max_drawdown_pct"), "{:.2f}"),
    ("trades/day", ("agent", "costs", "trades_per_day"), "{:.2f}"),
    ("ROI % zero fees", ("agent", "zero_fees", "roi_pct"), "{:+.2f}"),
    ("B&H ROI %", ("buy_and_hold", "costs", "roi_pct"), "{:+.2f}"),
    ("random pct", ("random_percentile", "roi"), "{:.0f}"),
    ("DSR", ("deflated_sharpe", "dsr"), "{:.2f}"),
)


def _get(d: dict[str, Any], path: tuple[str, ...]) -> Any:
    for k in path:
        d = d.get(k) if isinstance(d, dict) else None  # type: ignore[assignment]
    return d


def compare_rows(summaries: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Header and rows comparing evaluations (agent at configured costs unless stated)."""
    headers = ["run", "test period"] + [c[0] for c in _CMP]
    rows = []
    for s in summaries:
        rows.append([s["name"], f"{s['test']['start'][:10]} .. {s['test']['end'][:10]}"]
                    + [_f(_get(s, path), fmt) for _, path, fmt in _CMP])
    return headers, rows


def compare_table(summaries: list[dict[str, Any]]) -> Any:
    """A rich table of several evaluations."""
    from rich.table import Table

    headers, rows = compare_rows(summaries)
    table = Table(title="comparison (held-out test periods, configured costs)")
    for i, h in enumerate(headers):
        table.add_column(h, justify="left" if i < 2 else "right")
    for r in rows:
        table.add_row(*r)
    return table


def write_compare(items: list[tuple[dict[str, Any], dict[str, np.ndarray]]], out_dir: str | Path) -> Path:
    """Write ``compare.html`` and ``compare_equity.png`` (equity curves overlaid, buy-and-hold dashed)."""
    if not items:
        raise ConfigError("compare needs at least one evaluated run")
    plt = _plt()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    seen_bh: set[tuple[str, str]] = set()
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (s, c) in enumerate(items):
        x = _x(c)
        ax.plot(x, 100 * (c["agent_costs"] / c["agent_costs"][0] - 1), lw=1.3, color=colors[i % len(colors)], label=s["name"])
        key = (s["test"]["start"], s["test"]["end"])
        if key not in seen_bh:
            seen_bh.add(key)
            ax.plot(x, 100 * (c["bh_costs"] / c["bh_costs"][0] - 1), lw=1.0, ls="--", color="0.4",
                    label=f"buy-and-hold {key[0][:10]}")
    ax.set_ylabel("return %")
    ax.set_title("equity, configured costs")
    ax.legend(loc="best", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(out / "compare_equity.png", dpi=100)
    plt.close(fig)
    headers, rows = compare_rows([s for s, _ in items])
    verdicts = "".join(f"<li><b>{html.escape(s['name'])}</b>: {html.escape(s['verdict'])}</li>" for s, _ in items)
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>comparison</title><style>{_CSS}</style></head><body>"
        f"<h1>Comparison</h1>{_html_table(headers, rows)}<ul>{verdicts}</ul>"
        "<img src='compare_equity.png' alt='equity'></body></html>"
    )
    (out / "compare.html").write_text(page)
    return out / "compare.html"

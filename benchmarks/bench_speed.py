"""Side-by-side speed benchmark: tradeready-gym against gym-anytrading, Gym-Trading-Env and TensorTrade-NG.

One command reproduces the table in ``docs/benchmarks.md``::

    bash scripts/setup_peers.sh              # once: the peers' own venv (benchmarks/.peers-venv)
    python benchmarks/bench_speed.py         # full run (~10 min on 2 cores); --quick for a smoke run

Every library runs in its own subprocess (ours in the project venv, the peers in the peers venv),
on the same BTCUSDT 1h candles read from the shared REST JSON files, with the same 10-bar window
and seeded random actions. The workers run **interleaved**: repeat 1 runs every worker once, then
repeat 2, and so on, so a slow spell of the machine hits every library alike; each figure is the
median over the repeats. The memory measurement runs once, after the repeats.

Writes ``benchmarks/results/speed.json`` (machine-readable) and ``benchmarks/results/speed.md``
(markdown tables) and prints the JSON on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SPEED = HERE / "speed"
RESULTS = HERE / "results"
DOCS = REPO / "docs" / "benchmarks.md"
DOC_START = "<!-- speed-table:start (written by benchmarks/bench_speed.py --update-docs) -->"
DOC_END = "<!-- speed-table:end -->"
PEERS_PYTHON = HERE / ".peers-venv" / "bin" / "python"
OURS_PYTHON = REPO / ".venv" / "bin" / "python"

ANYTRADING = "gym-anytrading"
GTE = "gym-trading-env"
TENSORTRADE = "tensortrade-ng"
OURS = "tradeready-gym"
OURS_DEFAULT = "tradeready-gym (default obs)"
OURS_VECTOR = "tradeready-gym (vector)"
OURS_BUILD = "tradeready-gym (build from cache)"
OURS_MEMORY = "tradeready-gym (memory)"
OURS_PPO = "tradeready-gym (PPO)"
PEERS = (ANYTRADING, GTE, TENSORTRADE)
OURS_SCRIPT = "worker_tradeready.py"


@dataclass(frozen=True)
class Worker:
    """One benchmarked configuration: which interpreter runs which worker script with which arguments."""

    name: str
    python: Path
    script: str
    args: tuple[str, ...] = ()
    repeated: bool = True


@dataclass
class Settings:
    """Run sizes, from the command line (``--quick`` shrinks them)."""

    repeats: int
    seconds: float
    warmup: int
    resets: int
    builds: int
    ppo_steps: int
    num_envs: int
    timeout_s: float
    extra: list[str] = field(default_factory=list)


def workers(peers_python: Path, ours_python: Path, num_envs: int) -> list[Worker]:
    """Every configuration of one run, in the order a repeat runs them."""
    ours = OURS_SCRIPT
    return [
        Worker(ANYTRADING, peers_python, "worker_anytrading.py"),
        Worker(GTE, peers_python, "worker_gym_trading_env.py"),
        Worker(TENSORTRADE, peers_python, "worker_tensortrade.py"),
        Worker(OURS, ours_python, ours, ("--mode", "single")),
        Worker(OURS_DEFAULT, ours_python, ours, ("--mode", "single-default")),
        Worker(OURS_VECTOR, ours_python, ours, ("--mode", "vector", "--num-envs", str(num_envs))),
        Worker(OURS_BUILD, ours_python, ours, ("--mode", "build-cache")),
        Worker(OURS_MEMORY, ours_python, ours, ("--mode", "memory", "--num-envs", "1024"), repeated=False),
        Worker(OURS_PPO, ours_python, ours, ("--mode", "ppo")),
    ]


def log(message: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def run_worker(worker: Worker, settings: Settings, data_dir: str | None) -> dict[str, Any]:
    """Run one worker subprocess and return its JSON result, or ``{"error": ...}`` when it failed."""
    if not worker.python.exists():
        hint = "run scripts/setup_peers.sh" if worker.name in PEERS else "run scripts/install.sh"
        return {"error": f"interpreter {worker.python} not found ({hint})"}
    cmd = [
        str(worker.python),
        str(SPEED / worker.script),
        "--seconds",
        str(settings.seconds),
        "--warmup",
        str(settings.warmup),
        "--resets",
        str(settings.resets),
    ]
    if worker.script == OURS_SCRIPT:
        cmd += ["--builds", str(settings.builds), "--ppo-steps", str(settings.ppo_steps)]
    cmd += [*worker.args, *settings.extra]
    if data_dir:
        cmd += ["--data-dir", data_dir]
    # Python's default bytecode caching for every library alike, as in a normal install (a shell
    # with PYTHONDONTWRITEBYTECODE set would make each worker compile every imported module anew)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    # our worker measures compiled code only: a kernel missing from the cache is compiled before
    # the call returns instead of running uncompiled in the meantime (the library's default)
    env["TRADEREADY_JIT"] = "wait"
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=settings.timeout_s, cwd=REPO, check=False, env=env
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {settings.timeout_s:.0f} s"}
    wall = time.perf_counter() - t0
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        return {"error": f"exit code {proc.returncode}: {tail}"}
    result: dict[str, Any] = json.loads(lines[-1])
    result["process_wall_s"] = wall
    return result


def median_of(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [float(r[key]) for r in runs if key in r and r[key] is not None]
    return statistics.median(values) if values else None


def summarize(name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the successful repeats of one configuration, plus the raw runs."""
    ok = [r for r in runs if "error" not in r]
    out: dict[str, Any] = {"name": name, "repeats_ok": len(ok), "repeats": len(runs), "runs": runs}
    if not ok:
        out["error"] = runs[-1].get("error", "no result") if runs else "not run"
        return out
    first = ok[0]
    for key in ("library", "version", "config", "obs_shape", "bars", "num_envs", "symbols"):
        if key in first:
            out[key] = first[key]
    numeric = sorted(
        {k for r in ok for k, v in r.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    )
    for key in numeric:
        out[key] = median_of(ok, key)
    sps = [float(r["steps_per_s"]) for r in ok if "steps_per_s" in r]
    if sps:
        out["steps_per_s_min"] = min(sps)
        out["steps_per_s_max"] = max(sps)
    return out


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def targets(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets with the measured value and whether each is met (None: not measured)."""

    def get(name: str, key: str) -> float | None:
        value = results.get(name, {}).get(key)
        return float(value) if isinstance(value, int | float) else None

    ours_sps = get(OURS_DEFAULT, "steps_per_s")
    rows: list[dict[str, Any]] = []

    def add(target: str, measured: float | None, threshold: float, higher_is_better: bool, unit: str) -> None:
        met = (
            None
            if measured is None
            else (measured >= threshold if higher_is_better else measured < threshold)
        )
        rows.append(
            {"target": target, "measured": measured, "threshold": threshold, "unit": unit, "met": met}
        )

    add(
        "single env (default obs) steps/s >= gym-anytrading",
        ratio(ours_sps, get(ANYTRADING, "steps_per_s")),
        1.0,
        True,
        "x",
    )
    add(
        "single env (default obs) steps/s >= 5x Gym-Trading-Env",
        ratio(ours_sps, get(GTE, "steps_per_s")),
        5.0,
        True,
        "x",
    )
    add(
        "single env (default obs) steps/s >= 50x TensorTrade-NG",
        ratio(ours_sps, get(TENSORTRADE, "steps_per_s")),
        50.0,
        True,
        "x",
    )
    add(
        "vector env, 1,024 envs: >= 10,000,000 env-steps/s",
        get(OURS_VECTOR, "steps_per_s"),
        10_000_000,
        True,
        "env-steps/s",
    )
    add("reset() under 1 ms (single env, default obs)", get(OURS_DEFAULT, "reset_ms"), 1.0, False, "ms")
    add(
        "build an env from cached data under 200 ms (warm, median)",
        _ms(get(OURS_BUILD, "build_s")),
        200.0,
        False,
        "ms",
    )
    add(
        "build an env from cached data under 200 ms (first build in a fresh process, numba start-up included)",
        _ms(get(OURS_BUILD, "first_build_s")),
        200.0,
        False,
        "ms",
    )
    add(
        "build an env from cached data under 200 ms (first build in a fresh process, after numba's start-up)",
        _ms(get(OURS_BUILD, "first_build_after_numba_s")),
        200.0,
        False,
        "ms",
    )
    add(
        "1,024-env vector env, 1 year 1h x 3 symbols: under 300 MB resident",
        get(OURS_MEMORY, "rss_after_mb"),
        300.0,
        False,
        "MB",
    )
    add("SB3 PPO: env share of wall time under 5%", _pct(get(OURS_PPO, "env_share")), 5.0, False, "%")
    return rows


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


def _pct(share: float | None) -> float | None:
    return None if share is None else share * 100.0


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": model or platform.processor(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def source_state() -> dict[str, Any]:
    """The commit measured and whether ``src/`` had uncommitted changes at the time."""

    def git(*args: str) -> str:
        try:
            out = subprocess.run(
                ["git", *args], capture_output=True, text=True, cwd=REPO, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return out.stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD") or None,
        "src_dirty": bool(git("status", "--porcelain", "--", "src")),
    }


def fmt(value: float | None, digits: int = 0, suffix: str = "") -> str:
    if value is None:
        return "n/a"
    if digits == 0:
        return f"{value:,.0f}{suffix}"
    return f"{value:,.{digits}f}{suffix}"


def markdown(report: dict[str, Any]) -> str:
    """The markdown tables of one run."""
    res: dict[str, dict[str, Any]] = report["results"]
    meta = report["meta"]
    lines = [
        f"Run {meta['finished_utc']} on {meta['machine']['cpu']} ({meta['machine']['cpus']} CPUs), "
        f"{meta['repeats']} interleaved repeat(s), {meta['seconds']} s of stepping per measurement "
        "(single envs: CPU time of the worker process; vector env: wall time), "
        f"BTCUSDT 1h {meta['start']} .. {meta['end']}, {meta['window']}-bar window, seeded random actions"
        f"{' (quick run)' if meta['quick'] else ''}; tradeready-gym at commit "
        f"{(meta['source']['commit'] or 'unknown')[:10]}{' + uncommitted changes in src/' if meta['source']['src_dirty'] else ''}.",
        "",
        "| Environment | Version | Observation | steps/s (median) | min .. max | reset() ms | build s | peak RSS MB |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for name in (ANYTRADING, GTE, TENSORTRADE, OURS, OURS_DEFAULT, OURS_VECTOR):
        r = res.get(name, {})
        if "error" in r:
            lines.append(f"| {name} | | | failed: {r['error']} | | | | |")
            continue
        shape = r.get("obs_shape")
        shape_txt = (
            "x".join(str(x) for x in shape)
            if isinstance(shape, list)
            else (json.dumps(shape) if shape else "")
        )
        lines.append(
            f"| {name} | {r.get('version', '')} | {shape_txt} | {fmt(r.get('steps_per_s'))} | "
            f"{fmt(r.get('steps_per_s_min'))} .. {fmt(r.get('steps_per_s_max'))} | {fmt(r.get('reset_ms'), 3)} | "
            f"{fmt(r.get('build_s'), 3)} | {fmt(r.get('peak_rss_mb'), 0)} |"
        )
    lines += ["", "Ratios (tradeready-gym steps/s over the peer's, same run):", ""]
    lines += [
        "| tradeready-gym config | vs gym-anytrading | vs Gym-Trading-Env | vs TensorTrade-NG |",
        "|---|---:|---:|---:|",
    ]
    for name in (OURS_DEFAULT, OURS, OURS_VECTOR):
        cells = [fmt(report["ratios"].get(name, {}).get(p), 2, "x") for p in PEERS]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    lines += ["", "Targets (issue 5):", "", "| Target | Measured | Met |", "|---|---:|:---:|"]
    for t in report["targets"]:
        unit = t["unit"]
        digits = 2 if unit in ("x", "ms", "%") else 0
        measured = fmt(
            t["measured"], digits, "" if unit == "env-steps/s" else (unit if unit == "x" else f" {unit}")
        )
        met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
        lines.append(f"| {t['target']} | {measured} | {met} |")
    extra = []
    b = res.get(OURS_BUILD, {})
    if "first_build_s" in b:
        extra.append(
            f"- Build from cache: first build in a fresh process {fmt(_ms(b['first_build_s']), 1)} ms = numba's "
            f"start-up {fmt(_ms(b.get('numba_startup_s')), 1)} ms (the first call of a one-line cached numba "
            f"function, `benchmarks/speed/_numba_probe.py`) + our first build "
            f"{fmt(_ms(b.get('first_build_after_numba_s')), 1)} ms (compiled kernels loaded from numba's cache); "
            f"later builds median {fmt(_ms(b.get('build_s')), 1)} ms."
        )
    m = res.get(OURS_MEMORY, {})
    if "rss_after_mb" in m:
        extra.append(
            f"- Memory: process RSS {fmt(m['rss_before_mb'], 1)} MB before building the 1,024-env vector env "
            f"(interpreter, numpy, numba, gymnasium, the candles, and a 1-env batch built and dropped so that "
            f"modules and compiled kernels are loaded), {fmt(m['rss_after_mb'], 1)} MB after building, "
            f"resetting and stepping it 200 times: the 1,024 envs themselves add {fmt(m['rss_env_mb'], 1)} MB."
        )
    p = res.get(OURS_PPO, {})
    if "env_share" in p:
        extra.append(
            f"- PPO: {p['config']}; median {fmt(p['wall_s'], 1)} s wall, {fmt(p['env_s'], 2)} s inside the env; "
            "env share per repeat: "
            + ", ".join(fmt(_pct(r["env_share"]), 2, " %") for r in p["runs"] if "env_share" in r)
            + "."
        )
    for name in (OURS_BUILD, OURS_MEMORY, OURS_PPO):
        if "error" in res.get(name, {}):
            extra.append(f"- {name}: failed: {res[name]['error']}")
    if extra:
        lines += ["", *extra]
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def update_docs(path: Path, table: str) -> None:
    """Replace the text between the speed-table markers of ``path`` with ``table``."""
    text = path.read_text(encoding="utf-8")
    start, end = text.find(DOC_START), text.find(DOC_END)
    if start < 0 or end < start:
        raise SystemExit(f"{path}: markers {DOC_START!r} ... {DOC_END!r} not found; not updated")
    new = text[: start + len(DOC_START)] + "\n\n" + table + "\n" + text[end:]
    write_atomic(path, new)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="short smoke run (1 repeat, short timings)")
    parser.add_argument(
        "--repeats", type=int, default=None, help="interleaved repeats (default 5; 1 with --quick)"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="stepping time per measurement (default 2; 0.3 with --quick)",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="shared data folder (default: $TRADEREADY_SHARED_DATA or ../shared/data)",
    )
    parser.add_argument(
        "--peers-python", type=Path, default=PEERS_PYTHON, help="interpreter of the peers venv"
    )
    parser.add_argument(
        "--ours-python", type=Path, default=OURS_PYTHON if OURS_PYTHON.exists() else Path(sys.executable)
    )
    parser.add_argument(
        "--num-envs", type=int, default=1024, help="vector env size for the env-steps/s figure"
    )
    parser.add_argument(
        "--only", nargs="*", default=None, help="run only these configurations (names as in the table)"
    )
    parser.add_argument("--out-dir", type=Path, default=RESULTS, help="where speed.json and speed.md go")
    parser.add_argument(
        "--update-docs",
        action="store_true",
        help=f"also replace the table in {DOCS.relative_to(REPO)} (between its speed-table markers)",
    )
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    if args.seconds is not None and args.seconds <= 0:
        parser.error(f"--seconds must be > 0, got {args.seconds}")
    if args.num_envs < 1:
        parser.error(f"--num-envs must be >= 1, got {args.num_envs}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quick = bool(args.quick)
    settings = Settings(
        repeats=args.repeats or (1 if quick else 5),
        seconds=args.seconds or (0.3 if quick else 2.0),
        warmup=300 if quick else 2_000,
        resets=10 if quick else 30,
        builds=3 if quick else 10,
        ppo_steps=2048 if quick else 8192,
        num_envs=args.num_envs,
        timeout_s=300 if quick else 600,
    )
    plan = workers(args.peers_python, args.ours_python, args.num_envs)
    if args.only:
        known = {w.name for w in plan}
        unknown = [n for n in args.only if n not in known]
        if unknown:
            raise SystemExit(f"--only: unknown configuration(s) {unknown}; known: {sorted(known)}")
        plan = [w for w in plan if w.name in args.only]

    started = datetime.now(UTC)
    runs: dict[str, list[dict[str, Any]]] = {w.name: [] for w in plan}
    for k in range(settings.repeats):
        for w in (w for w in plan if w.repeated):
            log(f"repeat {k + 1}/{settings.repeats}: {w.name}")
            result = run_worker(w, settings, args.data_dir)
            _log_result(w.name, result)
            runs[w.name].append(result)
    for w in (w for w in plan if not w.repeated):
        log(f"once: {w.name}")
        result = run_worker(w, settings, args.data_dir)
        _log_result(w.name, result)
        runs[w.name].append(result)

    results = {name: summarize(name, rs) for name, rs in runs.items()}
    ratios: dict[str, dict[str, float | None]] = {}
    for name in (OURS_DEFAULT, OURS, OURS_VECTOR):
        ours_sps = results.get(name, {}).get("steps_per_s")
        ratios[name] = {p: ratio(ours_sps, results.get(p, {}).get("steps_per_s")) for p in PEERS}
    report = {
        "meta": {
            "started_utc": started.isoformat(timespec="seconds"),
            "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "quick": quick,
            "repeats": settings.repeats,
            "seconds": settings.seconds,
            "warmup_steps": settings.warmup,
            "window": 10,
            "symbol": "BTCUSDT",
            "timeframe": "1h",
            "start": "2024-01-01",
            "end": "2025-01-01",
            "order": [w.name for w in plan],
            "machine": machine(),
            "source": source_state(),
            "peers_python": str(args.peers_python),
            "ours_python": str(args.ours_python),
        },
        "results": results,
        "ratios": ratios,
        "targets": targets(results),
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2, sort_keys=False)
    write_atomic(args.out_dir / "speed.json", text + "\n")
    write_atomic(args.out_dir / "speed.md", markdown(report))
    if args.update_docs:
        update_docs(DOCS, markdown(report))
        log(f"updated {DOCS}")
    sys.stdout.write(text + "\n")
    log(f"wrote {args.out_dir / 'speed.json'} and {args.out_dir / 'speed.md'}")
    return 0


def _log_result(name: str, result: dict[str, Any]) -> None:
    if "error" in result:
        log(f"  {name}: FAILED {result['error']}")
    elif "steps_per_s" in result:
        log(
            f"  {name}: {result['steps_per_s']:,.0f} steps/s, reset {result.get('reset_ms', float('nan')):.3f} ms"
        )
    else:
        keys = ("build_s", "first_build_s", "numba_startup_s", "rss_after_mb", "env_share")
        log(f"  {name}: " + ", ".join(f"{k}={result[k]:.4g}" for k in keys if k in result))


if __name__ == "__main__":
    raise SystemExit(main())

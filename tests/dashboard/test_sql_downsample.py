"""Curves downsampled by the database (`service._episode_series_sql`) against a direct computation.

A real SQLite tracking store (and a PostgreSQL copy of it, when PostgreSQL is configured) holds one run with gaps in its episode numbers, missing values (also at
the first and last episode), integer ties and a constant column. The database's min/max buckets must
keep exactly the points the documented definition keeps, computed here with numpy over every row; for
contiguous episodes without missing values they must equal the in-memory `minmax_indices`.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from tradeready_platform.dashboard import service
from tradeready_platform.dashboard.downsample import minmax_indices

from .seeding import episode_rows, seed_run

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "platform"))
from platform_support import database_url

METRICS = ["roi_pct", "sharpe", "trades", "length", "excess_roi_pct"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from tradeready_gym.tracking.store import Store

    path = tmp_path_factory.mktemp("sql-ds") / "tracking.sqlite"
    st = Store(path)
    contiguous = seed_run(st, name="contiguous", episodes=4321, seed=11, scalars=False)
    gappy = seed_run(st, name="gappy", episodes=0, seed=12, scalars=False)
    rows = [r for r in episode_rows(6000, 12, start=3) if r["episode"] % 13 != 0 and not 2000 < r["episode"] < 2600]
    rows[0]["sharpe"] = None  # missing at the first and the last episode
    rows[-1]["sharpe"] = None
    st.record_episodes(gappy, rows, total_steps=rows[-1]["global_step"], heartbeat=False)
    st.close()
    return {"url": f"sqlite:///{path}", "contiguous": contiguous, "gappy": gappy, "rows": rows}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, store: dict[str, Any],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The store's URL, or a fresh PostgreSQL database holding a copy of its runs and episodes."""
    if request.param == "sqlite":
        yield store["url"]
        return
    from tradeready_gym.tracking.models import Base, Episode, Run

    with database_url("postgresql", tmp_path_factory.mktemp("pg")) as url:
        src, dst = create_engine(store["url"]), create_engine(url)
        Base.metadata.create_all(dst, tables=[Run.__table__, Episode.__table__])
        with src.connect() as a, dst.begin() as b:
            for table in (Run.__table__, Episode.__table__):
                rows = [dict(r._mapping) for r in a.execute(select(table))]
                b.execute(table.insert(), rows)
        src.dispose()
        dst.dispose()
        yield url


def _y(r: dict[str, Any], m: str) -> float | None:
    if m == "excess_roi_pct":
        return r["roi_pct"] - r["buy_hold_roi_pct"]
    v = r[m]
    return None if v is None else float(v)


def _x(r: dict[str, Any], x: str) -> float:
    return {"episode": float(r["episode"]), "step": float(r["global_step"]),
            "time": round(r["finished_at"].timestamp(), 3)}[x]


def reference(rows: list[dict[str, Any]], m: str, x: str, max_points: int) -> tuple[list[float], list[float]]:
    """The documented definition, over every row: episode-number buckets, first min / last max, ends."""
    eps = [r["episode"] for r in rows]
    lo, hi = min(eps), max(eps)
    nb, inner = (max_points - 2) // 2, hi - lo - 1
    keep: dict[int, float] = {}
    have = [r for r in rows if _y(r, m) is not None]
    keep[have[0]["episode"]] = _y(have[0], m)  # type: ignore[assignment]
    keep[have[-1]["episode"]] = _y(have[-1], m)  # type: ignore[assignment]
    best: dict[int, tuple[float, int, float, int]] = {}
    for r in have:
        e, v = r["episode"], _y(r, m)
        assert v is not None
        if not lo < e < hi:
            continue
        b = (e - lo - 1) * nb // inner
        if b not in best:
            best[b] = (v, e, v, e)
        mn, emn, mx, emx = best[b]
        if v < mn:
            mn, emn = v, e
        if v >= mx:
            mx, emx = v, e
        best[b] = (mn, emn, mx, emx)
    for mn, emn, mx, emx in best.values():
        keep[emn], keep[emx] = mn, mx
    by_ep = {r["episode"]: r for r in rows}
    pts = sorted((_x(by_ep[e], x), v) for e, v in keep.items())
    return [p[0] for p in pts], [p[1] for p in pts]


@pytest.mark.parametrize("x", ["episode", "step", "time"])
@pytest.mark.parametrize("max_points", [50, 401, 2000])
def test_database_buckets_equal_the_definition(store, db_url, x, max_points):
    engine = create_engine(db_url)
    with Session(engine) as s:
        got = service._episode_series_sql(s, store["gappy"], METRICS, x, max_points)
    engine.dispose()
    for m in METRICS:
        want_x, want_y = reference(store["rows"], m, x, max_points)
        assert got[m]["n"] == len(store["rows"])
        assert len(got[m]["x"]) <= max_points
        assert got[m]["x"] == pytest.approx(want_x, rel=0, abs=1e-6), m
        assert got[m]["y"] == pytest.approx(want_y, rel=1e-12), m
    # the last episode's missing Sharpe: the last episode that has one is the last point
    last_with = max(r["episode"] for r in store["rows"] if r["sharpe"] is not None)
    if x == "episode":
        assert got["sharpe"]["x"][-1] == last_with


@pytest.mark.parametrize("max_points", [4, 100, 2000])
def test_contiguous_run_keeps_the_points_of_minmax_indices(store, db_url, max_points):
    rows = episode_rows(4321, 11)
    engine = create_engine(db_url)
    with Session(engine) as s:
        got = service._episode_series_sql(s, store["contiguous"], ["roi_pct", "reward_sum"], "episode", max_points)
        short = service._episode_series_sql(s, store["contiguous"], ["roi_pct"], "episode", 2000)
    engine.dispose()
    for m in ("roi_pct", "reward_sum"):
        y = np.array([r[m] for r in rows])
        idx = minmax_indices(y, max_points)
        assert got[m]["x"] == [float(rows[i]["episode"]) for i in idx]
        assert got[m]["y"] == pytest.approx(y[idx].tolist(), rel=1e-12)
        assert got[m]["x"][-1] == 4321.0 and all(math.isfinite(v) for v in got[m]["y"])
    assert len(short["roi_pct"]["x"]) == 2000

"""The training dashboard: pages at ``/training`` and their JSON API at ``/api/v1/dashboard``.

* `dashboard_router` — the routes, for the platform's ``create_app`` (behind the account key).
* `create_local_app` — an app over a local tracking store, for ``tradeready dashboard`` (loopback only).
* `smoothing` — TensorBoard's debiased EMA and a rolling mean (the pages run a JS port of the same code).
* `downsample` — min/max buckets, at most 2,000 points per series, first and last point kept.

See ``docs/dashboard.md``. FastAPI loads only when one of the two factories is used.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_local_app", "dashboard_router"]


def __getattr__(name: str) -> Any:
    if name == "dashboard_router":
        from tradeready_platform.dashboard.router import dashboard_router

        return dashboard_router
    if name == "create_local_app":
        from tradeready_platform.dashboard.local import create_local_app

        return create_local_app
    raise AttributeError(f"module 'tradeready_platform.dashboard' has no attribute {name!r}")

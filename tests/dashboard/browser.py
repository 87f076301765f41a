"""Headless Chromium (Debian's ``chromium`` package) driven by Playwright for Python.

Every page a test opens goes through `watch`: all requests are routed, any request to a host other
than 127.0.0.1 is aborted and recorded, and console errors and uncaught page errors are recorded, so a
test can assert none happened. Screenshots go to ``test-artifacts/dashboard/`` (git-ignored) or
``$TRADEREADY_SCREENSHOTS``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMIUM = os.environ.get("TRADEREADY_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SHOTS = Path(os.environ.get("TRADEREADY_SCREENSHOTS", Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"))


class Watch:
    """Requests, console errors and page errors seen by one browser context."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.external: list[str] = []
        self.errors: list[str] = []

    def check(self) -> None:
        assert not self.external, f"requests left 127.0.0.1: {self.external}"
        assert not self.errors, f"console/page errors: {self.errors}"


def watch(context: Any) -> Watch:
    """Route every request of ``context`` (aborting non-loopback ones) and record errors of its pages."""
    w = Watch()

    def route(route: Any) -> None:
        url = route.request.url
        w.requests.append(url)
        host = urlsplit(url).hostname
        if url.startswith("data:") or host == "127.0.0.1":
            route.continue_()
        else:
            w.external.append(url)
            route.abort()

    context.route("**/*", route)

    def on_page(page: Any) -> None:
        page.on("console", lambda m: w.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: w.errors.append(f"pageerror: {e}"))

    context.on("page", on_page)
    return w


def launch(playwright: Any) -> Any:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"Chromium not found at {CHROMIUM}: install Debian's 'chromium' package (.ci/run does)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def screenshot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

"""The vendored JavaScript: pinned checksums, licence present, no CDN or external URL in the pages."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import tradeready_platform.dashboard as dashboard_pkg

STATIC = Path(dashboard_pkg.__file__).resolve().parent / "static"
VENDOR = STATIC / "vendor" / "uplot"

# uPlot 1.6.32 from the npm package "uplot" (dist/ files and LICENSE, unchanged)
PINNED = {
    "uPlot.iife.min.js": "19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f",
    "uPlot.min.css": "df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04",
    "LICENSE": "8f989229699b4fe2f1a0432d0e9edc338a8a911e250e2d1b01ecd770a5f5b1bd",
}


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_vendored_files_match_pinned_checksums():
    for name, digest in PINNED.items():
        assert _sha(VENDOR / name) == digest, f"{name} differs from the pinned uPlot 1.6.32 file"


def test_checksums_file_lists_every_vendored_file():
    listed = {}
    for line in (VENDOR / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        listed[name] = digest
    assert listed == PINNED
    shipped = {p.name for p in VENDOR.iterdir()} - {"SHA256SUMS", "SOURCE.txt"}
    assert shipped == set(PINNED), "every vendored file needs a pinned checksum"


def test_licence_is_present_and_mit_with_copyright():
    text = (VENDOR / "LICENSE").read_text()
    assert "MIT License" in text
    assert "Copyright (c)" in text and "Leon Sorokin" in text
    assert "uPlot 1.6.32" in (VENDOR / "SOURCE.txt").read_text()
    # the minified file keeps its banner naming the project and version
    assert (VENDOR / "uPlot.iife.min.js").read_text()[:80].startswith("/*! https://github.com/leeoniya/uPlot (v1.6.32)")


def test_pages_load_only_local_files():
    pages = sorted(STATIC.glob("*.html"))
    assert {p.name for p in pages} == {"runs.html", "run.html", "compare.html", "replay.html"}
    for page in pages:
        html = page.read_text()
        refs = re.findall(r'(?:src|href)="([^"]*)"', html)
        assert refs, page
        for ref in refs:
            assert ref.startswith("/training") or ref.startswith("data:"), f"{page.name} loads {ref!r}"
    for js in STATIC.glob("*.js"):
        text = js.read_text()
        assert "http://" not in text and "https://" not in text, f"{js.name} names an external URL"


def test_static_files_are_package_data():
    import tomllib
    from pathlib import PurePosixPath

    conf = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    patterns = conf["tool"]["setuptools"]["package-data"]["tradeready_platform"]
    pkg = STATIC.parent.parent  # tradeready_platform/
    files = [p for p in STATIC.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert len(files) >= 16
    for f in files:
        rel = PurePosixPath(f.relative_to(pkg).as_posix())
        assert any(rel.match(pat) and len(rel.parts) == len(PurePosixPath(pat).parts) for pat in patterns), (
            f"{rel} is not package data"
        )

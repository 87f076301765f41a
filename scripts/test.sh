#!/usr/bin/env bash
# The test command: lint, type-check, then the whole test suite on real candles from ../shared/data.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
ruff check src tests benchmarks
mypy
python -m pytest -q "$@"

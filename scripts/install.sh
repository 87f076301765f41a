#!/usr/bin/env bash
# Set up a fresh machine: a virtual environment in .venv with tradeready-gym and its extras.
# PyTorch's CPU build is installed first so that Stable-Baselines3 does not pull a CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[dev,sb3,plot,server,live,torchrl,video,rllib]"
# compile every numba kernel once (cached), so that the first env step of later runs is fast
.venv/bin/tradeready warmup --quiet

#!/usr/bin/env bash
# Create benchmarks/.peers-venv and install the peer trading environments used by
# benchmarks/bench_speed.py, isolated from the project's own venv so their pins cannot clash.
#
# Peers (from PyPI):
#   gym-anytrading   stable release
#   gym-trading-env  stable release
#   tensortrade-ng   only pre-releases exist on PyPI (2.0.0a2), so it is installed with --pre;
#                    its package imports IPython at import time (tensortrade/env/plotters) without
#                    declaring it, so ipython is installed too.
#
# Idempotent: re-running reuses the venv and only installs what is missing.
# Usage: scripts/setup_peers.sh [PYTHON]   (default: python3.11, else python3)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/benchmarks/.peers-venv"
PY="${1:-}"
if [[ -z "$PY" ]]; then
    if command -v python3.11 >/dev/null 2>&1; then PY=python3.11; else PY=python3; fi
fi

PEERS=(
    "gym-anytrading==2.0.0"
    "gym-trading-env==0.3.5"
    "tensortrade-ng==2.0.0a2"
    "ipython"
)

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "creating $VENV with $PY"
    "$PY" -m venv "$VENV"
fi

if "$VENV/bin/python" - <<'PYEOF' 2>/dev/null
import importlib.metadata as md
wanted = {"gym-anytrading": "2.0.0", "gym-trading-env": "0.3.5", "tensortrade-ng": "2.0.0a2"}
for name, version in wanted.items():
    if md.version(name) != version:
        raise SystemExit(1)
import IPython, gym_anytrading, gym_trading_env, tensortrade.env  # noqa: F401
PYEOF
then
    echo "peers already installed in $VENV"
else
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    # --pre is needed for tensortrade-ng (no stable release); the other two are pinned exactly.
    "$VENV/bin/python" -m pip install --quiet --pre "${PEERS[@]}"
fi

"$VENV/bin/python" - <<'PYEOF'
import importlib.metadata as md
for name in ("gym-anytrading", "gym-trading-env", "tensortrade-ng", "gymnasium", "numpy", "pandas"):
    print(f"{name}=={md.version(name)}")
PYEOF

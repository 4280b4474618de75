#!/usr/bin/env bash
# ClassMood on a fresh machine: set up the virtual environment once, then run the real worker on the bundled demo
# class (no camera, dataset or network needed) and serve the dashboard at http://127.0.0.1:8050.
# Ctrl+C stops both; the worker closes its session cleanly. Data goes to the user's data folder (SQLite),
# or to DATABASE_URL if set.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "Setting up .venv (first run only, a few minutes)..."
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import tensorflow, dash, cv2, sqlalchemy, mtcnn" 2>/dev/null \
   || [ requirements.txt -nt .venv/.installed ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements.txt
  touch .venv/.installed
fi
export TF_CPP_MIN_LOG_LEVEL=3
.venv/bin/python -m db upgrade   # once, before the worker and the dashboard both open the database
.venv/bin/python -m monitor demo "$@" &
worker=$!
trap 'kill -TERM $worker 2>/dev/null; wait $worker 2>/dev/null || true' EXIT
trap 'exit 0' INT TERM  # Ctrl+C is how the demo is meant to end: a clean exit, the worker closed by the EXIT trap
echo "Dashboard: http://127.0.0.1:8050  (Ctrl+C to stop)"
.venv/bin/python -m dashboard

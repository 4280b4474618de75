#!/usr/bin/env bash
# Run every test layer: unit, database (SQLite and a throwaway PostgreSQL), pipeline (real video through the real
# model) and browser (headless Chromium). Installs the Python packages into .venv; the Debian packages
# (postgresql, chromium, chromium-driver, xvfb) are installed by .ci/run, or by you once with apt-get.
# Extra arguments go to pytest, e.g. ./test.sh -m unit
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
if ! .venv/bin/python -c "import tensorflow, dash, cv2, sqlalchemy, selenium, pytest" 2>/dev/null \
   || [ requirements-dev.txt -nt .venv/.installed-dev ] || [ requirements.txt -nt .venv/.installed-dev ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements-dev.txt
  touch .venv/.installed-dev
fi
# The throwaway PostgreSQL: stopped at exit only if this run started it (one that already answers on the port is
# someone else's, or another run's, and stays up).
PG_PORT="${CLASSMOOD_PG_PORT:-55432}"
if (exec 3<>"/dev/tcp/127.0.0.1/${PG_PORT}") 2>/dev/null; then
  own_pg=0
else
  own_pg=1
fi
eval "$(bash .ci/postgres.sh | tail -1)"
if [ "$own_pg" = 1 ]; then
  trap 'bash .ci/postgres.sh stop 2>/dev/null || true' EXIT
fi
export TF_CPP_MIN_LOG_LEVEL=3
# Two processes (pytest-xdist; CLASSMOOD_TEST_WORKERS, or -n 0 after the command for one): on CI's 2-core runner the
# suite takes about 17 minutes instead of 27, inside CI's 20. Each test has its own temporary folder, database, port
# and X display, and each worker its own data folder; a module's tests stay on one worker, in their order
# (--dist loadfile), since the browser tests share a module's seeded dashboard.
.venv/bin/python -m pytest -n "${CLASSMOOD_TEST_WORKERS:-2}" --dist loadfile "$@"

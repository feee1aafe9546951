#!/bin/sh
# Regenerate .coverage and coverage.xml from this project's tests:
# `pytest --cov --cov-report=xml`, in a throw-away Python 3.12 environment
# (src/vectors/ops.py uses 3.12 syntax).
set -eu
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3.12}"
venv="$(mktemp -d)"
trap 'rm -rf "$venv"' EXIT
"$PYTHON" -m venv "$venv"
"$venv/bin/pip" install --quiet pytest==9.2.0 pytest-cov==7.1.0 coverage==7.18.0
rm -f .coverage coverage.xml
"$venv/bin/python" -m pytest -p no:cacheprovider -q --cov --cov-report=xml --cov-report=term

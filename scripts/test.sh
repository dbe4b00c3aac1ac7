#!/usr/bin/env bash
# Runs the whole test suite (units, property tests, interop with real SIP peers on loopback).
# Extra arguments go to pytest, e.g. scripts/test.sh tests/unit -x
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m pytest "$@"

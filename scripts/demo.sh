#!/usr/bin/env bash
# Runs the demo: a local simulated phone answers, and our dialer places a real SIP call to it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/callbot demo "$@"

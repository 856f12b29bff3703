#!/usr/bin/env bash
# Run every test: lint, type check, unit tests and the integration tests
# against the real Kafka, Redis, Prometheus and Alertmanager, which the test
# session starts on free loopback ports and stops at its end.
#
# Extra arguments go to pytest, e.g. `bash deploy/test.sh -k simulator`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bash deploy/install.sh
.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"

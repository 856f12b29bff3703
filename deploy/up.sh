#!/usr/bin/env bash
# Run the whole SalesPulse stack on this machine, fed by the event simulator:
# Kafka (KRaft), Redis, the worker with its exporter, Prometheus with the
# project's rules, Alertmanager, and the generated dashboards. Installs what is
# missing first. Ctrl-C or SIGTERM stops everything it started.
#
# Options go to deploy/stack.py, e.g. `bash deploy/up.sh --workers 2`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bash deploy/install.sh
exec .venv/bin/python -m deploy.stack "$@"

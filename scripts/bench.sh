#!/bin/sh
# make bench: the proxy against its references, then the queries on a
# million log rows, then the rule backtest on a million failed rows.
# Figures in build/bench/*.json and on stdout.
set -e
cd "$(dirname "$0")/.."
python3 scripts/bench.py "$@"
python3 scripts/bench_queries.py
python3 scripts/bench_backtest.py

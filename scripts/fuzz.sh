#!/usr/bin/env bash
# Runs every fuzz target in the module for a bounded time each.
# usage: scripts/fuzz.sh [fuzztime, default 30s]
set -euo pipefail
fuzztime=${1:-30s}
cd "$(dirname "$0")/.."
status=0
while IFS= read -r line; do
  file=${line%%:*}
  name=$(sed -E 's/^func (Fuzz[A-Za-z0-9_]*).*/\1/' <<<"${line#*:}")
  pkg=./$(dirname "$file")
  echo "== $pkg $name ($fuzztime)"
  go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" -fuzzminimizetime=10s "$pkg" || status=1
done < <(grep -rn --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' . | sed -E 's/:[0-9]+:/:/' | sort)
exit $status

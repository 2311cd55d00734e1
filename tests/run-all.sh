#!/usr/bin/env bash
# Runs every Medlens test on this machine, installing what the tests need first.
# Each suite is a script under tests/suites/, run in name order; each one installs
# its own prerequisites (apt, npm, pip) idempotently and exits non-zero on failure.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# Rust build cache: reused when present, outside the checkout so fresh clones share it.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/medlens/target}
export MEDLENS_CACHE=${MEDLENS_CACHE:-$HOME/.cache/medlens}
mkdir -p "$CARGO_TARGET_DIR" "$MEDLENS_CACHE"
passed=0; failed=0; failures=()
for suite in tests/suites/*.sh; do
  name=$(basename "$suite" .sh)
  echo "==> suite $name"
  start=$(date +%s)
  if bash "$suite"; then
    passed=$((passed + 1)); echo "<== suite $name passed in $(( $(date +%s) - start )) s"
  else
    failed=$((failed + 1)); failures+=("$name"); echo "<== suite $name FAILED in $(( $(date +%s) - start )) s"
  fi
done
[ ${#failures[@]} -eq 0 ] || echo "failed suites: ${failures[*]}"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

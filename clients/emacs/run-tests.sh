#!/usr/bin/env bash
# Byte-compile (warnings are errors), checkdoc, then the ERT tests against a
# real gastown-server.  Usage: run-tests.sh [compile|checkdoc|test [SELECTOR]]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
EMACS="${EMACS:-emacs}"
batch=("$EMACS" --batch -Q -l "$here/test/gastown-batch.el")

step="${1:-all}"
case "$step" in
  compile)  "${batch[@]}" -f gastown-batch-compile ;;
  checkdoc) "${batch[@]}" -f gastown-batch-checkdoc ;;
  test)     shift; "${batch[@]}" -f gastown-batch-test "$@" ;;
  all)
    "${batch[@]}" -f gastown-batch-compile
    "${batch[@]}" -f gastown-batch-checkdoc
    "${batch[@]}" -f gastown-batch-test ;;
  *) echo "run-tests.sh: error: unknown step '$step' (compile|checkdoc|test|all)" >&2; exit 1 ;;
esac

#!/usr/bin/env bash
# The machine set-up the full test run needs (README: npm install && npm run test:full; .ci/run):
# the Debian packages behind redis-server, java, mvn, chromium and promtool (prometheus: the test that
# lints GET /metrics with `promtool check metrics`). When one is missing it installs
# exactly the missing packages if it can (root and apt-get: apt-get update, apt-get install -y),
# otherwise it stops at once (exit 2) with the one command to run. Then the Kafka jars
# (scripts/stack/stack.sh fetch, a no-op when cached).
#   bash scripts/setup-machine.sh            check, install what is missing, fetch the jars
#   bash scripts/setup-machine.sh --check    only print what is missing (exit 2 if anything)
set -euo pipefail
cd "${BASH_SOURCE[0]%/*}/.."

declare -A PACKAGE=([redis-server]=redis-server [java]=openjdk-17-jre-headless [mvn]=maven [chromium]=chromium [promtool]=prometheus)
missing=()
for tool in redis-server java mvn chromium promtool; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${PACKAGE[$tool]}")
done

if ((${#missing[@]})); then
  cmd="apt-get update && apt-get install -y ${missing[*]}"
  echo "[setup] missing Debian packages: ${missing[*]}"
  if [[ "${1:-}" == --check ]]; then exit 2; fi
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "[setup] installing: $cmd"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "[setup] LKL_ERR_STACK_TOOL_MISSING: not root (or no apt-get), so not installing. Run:" >&2
    echo "[setup]   sudo sh -c '$cmd'" >&2
    exit 2
  fi
else
  echo "[setup] redis-server, java, mvn, chromium and promtool are installed"
fi
[[ "${1:-}" == --check ]] && exit 0
bash scripts/stack/stack.sh fetch

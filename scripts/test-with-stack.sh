#!/usr/bin/env bash
# Runs the whole test suite against real servers: brings up the local stack (Redis + single-node
# KRaft Kafka, see docs/local-stack.md) unless KAFKA_BROKERS/REDIS_URL already point somewhere,
# runs vitest with the real-infrastructure suites enabled, prints "N passed, N failed, N skipped",
# and stops the stack again if it started it. With LKLAB_REQUIRE_INFRA=1 (CI) a skipped test fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

# The machine set-up (Debian packages, Kafka jars): installs what is missing when root, else
# stops with the one command to run.
bash scripts/setup-machine.sh

started=0
if [[ -z "${KAFKA_BROKERS:-}" || -z "${REDIS_URL:-}" ]]; then
  if ! bash scripts/stack/stack.sh status >/dev/null 2>&1; then
    bash scripts/stack/stack.sh up
    started=1
  fi
  export KAFKA_BROKERS="127.0.0.1:${LKLAB_KAFKA_PORT:-19092}"
  export REDIS_URL="redis://127.0.0.1:${LKLAB_REDIS_PORT:-16379}"
fi
cleanup() {
  if [[ $started == 1 && "${LKLAB_KEEP_STACK:-0}" != 1 ]]; then bash scripts/stack/stack.sh down || true; fi
}
trap cleanup EXIT

echo "[test] KAFKA_BROKERS=$KAFKA_BROKERS REDIS_URL=$REDIS_URL LKLAB_REQUIRE_INFRA=${LKLAB_REQUIRE_INFRA:-0}"
mkdir -p test-artifacts
status=0
rm -f test-artifacts/vitest-*.json
# The suites in parallel, then the fault tests (they stop shared servers) one file at a time.
npx vitest run --reporter=default --reporter=json --outputFile=test-artifacts/vitest-main.json "$@" || status=$?
if [[ $# == 0 ]]; then
  npx vitest run --config vitest.faults.config.ts --reporter=default --reporter=json --outputFile=test-artifacts/vitest-faults.json || status=$?
fi

node --input-type=module -e '
  import { existsSync, readFileSync } from "node:fs";
  const files = ["test-artifacts/vitest-main.json", "test-artifacts/vitest-faults.json"].filter((f) => existsSync(f));
  const rs = files.map((f) => JSON.parse(readFileSync(f, "utf8")));
  const sum = (k) => rs.reduce((s, r) => s + r[k], 0);
  const skipped = sum("numPendingTests") + sum("numTodoTests");
  const failedSuites = rs.flatMap((r) => r.testResults).filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
  const r = { numPassedTests: sum("numPassedTests"), numFailedTests: sum("numFailedTests") };
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests + failedSuites} failed, ${skipped} skipped`);
  if (process.env.LKLAB_REQUIRE_INFRA === "1" && skipped > 0) {
    console.error(`[test] ${skipped} test(s) were skipped while LKLAB_REQUIRE_INFRA=1: every real-infrastructure suite must run.`);
    process.exit(3);
  }
  if (r.numPassedTests === 0) { console.error("[test] no test passed"); process.exit(4); }
' || status=${status:-1}
[[ $status == 0 ]] || { echo "[test] FAILED (exit $status)"; exit "$status"; }

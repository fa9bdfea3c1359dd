#!/usr/bin/env bash
# Lambda-Kappa Lab local stack: a real Redis and a real single-node Apache Kafka
# (KRaft, combined broker+controller) on loopback, without Docker.
#
#   Redis : Debian's redis-server            -> 127.0.0.1:16379
#   Kafka : Apache Kafka jars resolved by mvn -> 127.0.0.1:19092 (controller 127.0.0.1:19093)
#
# Usage: scripts/stack/stack.sh <command> [args]   (see `stack.sh help`)
# Docs:  docs/local-stack.md
set -euo pipefail

# ---------------------------------------------------------------------------
# Locations and settings (all overridable from the environment)
# ---------------------------------------------------------------------------
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
POM="$SCRIPT_DIR/pom.xml"

HOST=127.0.0.1
KAFKA_PORT="${LKLAB_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${LKLAB_KAFKA_CONTROLLER_PORT:-19093}"
REDIS_PORT="${LKLAB_REDIS_PORT:-16379}"

CACHE_DIR="${LKLAB_CACHE_DIR:-${HOME:-/tmp}/.cache/lklab}"
STATE_DIR="${LKLAB_STACK_DIR:-$REPO_ROOT/.lklab/stack}"

# The Kafka version is pinned in pom.xml (<kafka.version>); LKLAB_KAFKA_VERSION overrides it.
POM_KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n1)"
KAFKA_VERSION="${LKLAB_KAFKA_VERSION:-${POM_KAFKA_VERSION:-3.9.2}}"
KAFKA_HOME="$CACHE_DIR/kafka-$KAFKA_VERSION"
LIBS="$KAFKA_HOME/libs"

KAFKA_HEAP_OPTS="${LKLAB_KAFKA_HEAP_OPTS:-${KAFKA_HEAP_OPTS:--Xmx1G -Xms512m}}"
KAFKA_JVM_OPTS="${LKLAB_KAFKA_JVM_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true}"
TOOLS_JVM_OPTS="${LKLAB_TOOLS_JVM_OPTS:--Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true}"
READY_TIMEOUT="${LKLAB_STACK_TIMEOUT:-90}"
STOP_TIMEOUT="${LKLAB_STACK_STOP_TIMEOUT:-30}"

REDIS_DIR="$STATE_DIR/redis"
REDIS_PIDFILE="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"

KAFKA_DIR="$STATE_DIR/kafka"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_PIDFILE="$KAFKA_DIR/kafka.pid"
KAFKA_LOG="$KAFKA_DIR/kafka.log"
KAFKA_CONFIG="$KAFKA_DIR/server.properties"
KAFKA_LOG4J="$KAFKA_DIR/log4j.properties"
TOOLS_LOG4J="$KAFKA_DIR/tools-log4j.properties"
PROBE_CONFIG="$KAFKA_DIR/probe-admin.properties"
STATE_MARKER="$STATE_DIR/.lklab-stack"

# Java entry points (Kafka 3.9 layout).
CLASS_BROKER=kafka.Kafka
CLASS_STORAGE_TOOL=kafka.tools.StorageTool
CLASS_TOPIC_COMMAND=org.apache.kafka.tools.TopicCommand
CLASS_CONSOLE_CONSUMER=org.apache.kafka.tools.consumer.ConsoleConsumer
CLASS_CONSUMER_PERF=org.apache.kafka.tools.ConsumerPerformance
CLASS_PRODUCER_PERF=org.apache.kafka.tools.ProducerPerformance

APT_HINT="apt-get install -y openjdk-17-jre-headless maven redis-server"

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
log() { printf '[stack] %s\n' "$*"; }
warn() { printf '[stack] %s\n' "$*" >&2; }
die() { # die <exit-code> <LKL_ERR_CODE> <message...>
  local code="$1" err="$2"
  shift 2
  printf '[stack] %s: %s\n' "$err" "$*" >&2
  exit "$code"
}

now_ms() { date +%s%3N; }
elapsed() { # elapsed <start-ms> -> "1.23s"
  local d=$(($(now_ms) - $1))
  printf '%d.%02ds' $((d / 1000)) $(((d % 1000) / 10))
}

java_bin() {
  if [[ -n "${JAVA_HOME:-}" && -x "${JAVA_HOME}/bin/java" ]]; then
    printf '%s' "${JAVA_HOME}/bin/java"
  else
    printf 'java'
  fi
}

package_for() {
  case "$1" in
    java) echo openjdk-17-jre-headless ;;
    mvn) echo maven ;;
    redis-server) echo redis-server ;;
    redis-cli) echo "redis-server (redis-cli comes with redis-tools, a dependency of redis-server)" ;;
    *) echo "$1" ;;
  esac
}

require_tools() { # require_tools tool...
  local t missing=()
  for t in "$@"; do
    if [[ "$t" == java ]]; then
      command -v "$(java_bin)" >/dev/null 2>&1 || missing+=(java)
    else
      command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    fi
  done
  if ((${#missing[@]})); then
    for t in "${missing[@]}"; do
      printf "[stack] LKL_ERR_STACK_TOOL_MISSING: required tool '%s' not found on PATH (Debian package: %s)\n" \
        "$t" "$(package_for "$t")" >&2
    done
    printf '[stack] Install the local-stack prerequisites with:\n[stack]   %s\n' "$APT_HINT" >&2
    exit 2
  fi
  for t in "$@"; do
    [[ "$t" == java ]] && check_java_version
  done
  return 0
}

check_java_version() {
  local v major
  v="$("$(java_bin)" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)"
  major="${v%%.*}"
  [[ "$major" == 1 ]] && major="$(echo "$v" | cut -d. -f2)"
  if [[ "$major" =~ ^[0-9]+$ ]] && ((major < 11)); then
    die 2 LKL_ERR_STACK_TOOL_MISSING "Java $v is too old for Kafka $KAFKA_VERSION (needs 11+, 17 recommended). Install: $APT_HINT"
  fi
}

# Is a pid alive (and not a zombie)?
pid_alive() {
  local pid="$1" state
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/$pid/stat" ]]; then
    state="$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)"
    [[ "$state" == Z ]] && return 1
  fi
  return 0
}

pid_cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true; }

# Prints the pid of our redis / kafka process if it is running, else nothing (and
# removes a stale pidfile: missing process, zombie, or pid reused by something else).
redis_pid() {
  [[ -f "$REDIS_PIDFILE" ]] || return 0
  local pid
  pid="$(tr -dc '0-9' <"$REDIS_PIDFILE" 2>/dev/null || true)"
  # Ours = a live redis-server whose working dir is our redis dir (we start it with --dir).
  if pid_alive "$pid" && { [[ ! -r /proc/$pid/cmdline ]] || { pid_cmdline "$pid" | grep -q 'redis-server' &&
    [[ "$(readlink "/proc/$pid/cwd" 2>/dev/null || echo "$REDIS_DIR")" == "$(cd "$REDIS_DIR" 2>/dev/null && pwd -P)" ]]; }; }; then
    printf '%s' "$pid"
  else
    rm -f "$REDIS_PIDFILE"
  fi
}

kafka_pid() {
  [[ -f "$KAFKA_PIDFILE" ]] || return 0
  local pid
  pid="$(tr -dc '0-9' <"$KAFKA_PIDFILE" 2>/dev/null || true)"
  if pid_alive "$pid" && { [[ ! -r /proc/$pid/cmdline ]] || pid_cmdline "$pid" | grep -qF "$KAFKA_CONFIG"; }; then
    printf '%s' "$pid"
  else
    rm -f "$KAFKA_PIDFILE"
  fi
}

# Something accepts TCP connections on 127.0.0.1:<port>?
port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" >/dev/null 2>&1
}

port_owner() { # best-effort description of who listens on a port
  if command -v ss >/dev/null 2>&1; then
    ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\(.*\)))/\1/p' | head -n1
  fi
}

ensure_port_free() { # ensure_port_free <port> <what>
  if port_open "$1"; then
    local owner
    owner="$(port_owner "$1")"
    die 4 LKL_ERR_STACK_PORT_BUSY "$HOST:$1 (needed for $2) is already in use${owner:+ by $owner}." \
      "Stop that process, or pick another port (LKLAB_KAFKA_PORT / LKLAB_KAFKA_CONTROLLER_PORT / LKLAB_REDIS_PORT)."
  fi
}

tail_log() { # tail_log <file> <n>
  if [[ -f "$1" ]]; then
    printf -- '----- last %s lines of %s -----\n' "$2" "$1" >&2
    tail -n "$2" "$1" >&2
    printf -- '-----\n' >&2
  else
    warn "(no log file at $1)"
  fi
}

ensure_state_dir() {
  mkdir -p "$STATE_DIR" "$REDIS_DIR" "$KAFKA_DIR"
  [[ -f "$STATE_MARKER" ]] || printf 'Lambda-Kappa Lab local stack state (safe to delete with `stack.sh reset`)\n' >"$STATE_MARKER"
}

# Serialise mutating commands (parallel test runners may call `up` concurrently).
with_lock() {
  ensure_state_dir
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$STATE_DIR/.lock"
    if ! flock -w 300 9; then
      die 1 LKL_ERR_STACK_LOCKED "another stack.sh is still running (lock $STATE_DIR/.lock)"
    fi
  fi
}

redis_version() {
  command -v redis-server >/dev/null 2>&1 || return 0
  redis-server --version 2>/dev/null | sed -n 's/.* v=\([^ ]*\).*/\1/p'
}

kafka_version() { # kafka_version [libs-dir]: from the broker jar name, empty if not fetched
  local jar
  for jar in "${1:-$LIBS}"/kafka_2.*-*.jar; do
    [[ -f "$jar" ]] || continue
    jar="${jar##*/}"
    jar="${jar#kafka_2.*-}"
    printf '%s' "${jar%.jar}"
    return 0
  done
}

json_str() { # JSON string literal (or null for empty)
  if [[ -z "$1" ]]; then
    printf 'null'
  else
    local s="${1//\\/\\\\}"
    s="${s//\"/\\\"}"
    printf '"%s"' "$s"
  fi
}

# ---------------------------------------------------------------------------
# Kafka jars
# ---------------------------------------------------------------------------
jars_present() { [[ -f "$KAFKA_HOME/.complete" && -n "$(kafka_version)" ]]; }

cmd_fetch() {
  if jars_present; then
    log "Kafka $KAFKA_VERSION jars already cached in $LIBS"
    return 0
  fi
  require_tools java mvn
  mkdir -p "$CACHE_DIR"
  if command -v flock >/dev/null 2>&1; then
    exec 8>"$CACHE_DIR/.fetch-kafka-$KAFKA_VERSION.lock"
    flock -w 900 8 || die 1 LKL_ERR_STACK_LOCKED "another fetch is running ($CACHE_DIR)"
    if jars_present; then
      log "Kafka $KAFKA_VERSION jars already cached in $LIBS"
      return 0
    fi
  fi
  local t0 tmp mvn_extra=()
  t0="$(now_ms)"
  tmp="$KAFKA_HOME/libs.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # shellcheck disable=SC2206  # intentional word splitting of user-provided extra flags
  [[ -n "${LKLAB_MAVEN_ARGS:-}" ]] && mvn_extra=(${LKLAB_MAVEN_ARGS})
  log "Fetching Apache Kafka $KAFKA_VERSION broker + tools jars with Maven into $LIBS ..."
  # Output goes to a log file and is shown only on failure (mvn -q still prints colour escapes).
  if ! mvn -q -B -Dstyle.color=never -f "$POM" "${mvn_extra[@]}" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" >"$KAFKA_HOME/fetch.log" 2>&1; then
    rm -rf "$tmp"
    tail -n 60 "$KAFKA_HOME/fetch.log" >&2
    die 1 LKL_ERR_STACK_FETCH_FAILED "mvn could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION (network? proxy? see output above)"
  fi
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  printf '%s\n' "$KAFKA_VERSION" >"$KAFKA_HOME/.complete"
  log "Fetched $(find "$LIBS" -name '*.jar' | wc -l) jars ($(du -sh "$LIBS" | cut -f1)) in $(elapsed "$t0")"
}

ensure_jars() { jars_present || cmd_fetch; }

write_tools_log4j() {
  ensure_state_dir
  cat >"$TOOLS_LOG4J" <<'EOF'
# Generated by scripts/stack/stack.sh: logging for Kafka CLI tools (stderr, warnings only).
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

run_tool() { # run_tool <class> args...  (Kafka CLI class from the cached jars)
  local cls="$1"
  shift
  local opts
  # shellcheck disable=SC2206
  opts=(${TOOLS_JVM_OPTS})
  "$(java_bin)" "${opts[@]}" -Dlog4j.configuration="file:$TOOLS_LOG4J" -cp "$LIBS/*" "$cls" "$@"
}

# ---------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------
redis_start() {
  require_tools redis-server redis-cli
  ensure_state_dir
  local pid t0
  pid="$(redis_pid)"
  if [[ -n "$pid" ]]; then
    if redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
      log "redis already running (pid $pid, $HOST:$REDIS_PORT)"
      return 0
    fi
  else
    ensure_port_free "$REDIS_PORT" redis
    t0="$(now_ms)"
    printf '\n===== %s stack.sh starting redis =====\n' "$(date -Is)" >>"$REDIS_LOG"
    redis-server \
      --bind "$HOST" --port "$REDIS_PORT" --protected-mode yes \
      --save "" --appendonly yes \
      --dir "$REDIS_DIR" \
      --daemonize yes --pidfile "$REDIS_PIDFILE" --logfile "$REDIS_LOG" \
      </dev/null >/dev/null 8>&- 9>&- ||
      {
        tail_log "$REDIS_LOG" 40
        die 1 LKL_ERR_STACK_START_FAILED "redis-server failed to start"
      }
  fi
  t0="${t0:-$(now_ms)}"
  local deadline=$((SECONDS + READY_TIMEOUT))
  while ((SECONDS < deadline)); do
    if redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
      pid="$(redis_pid)"
      log "redis ready (pid ${pid:-?}, $HOST:$REDIS_PORT) in $(elapsed "$t0")"
      return 0
    fi
    # Redis writes its pidfile right after daemonizing; give it a moment before judging.
    if [[ -f "$REDIS_PIDFILE" ]] && [[ -z "$(redis_pid)" ]]; then
      tail_log "$REDIS_LOG" 40
      die 1 LKL_ERR_STACK_START_FAILED "redis-server exited during startup (log: $REDIS_LOG)"
    fi
    sleep 0.2
  done
  tail_log "$REDIS_LOG" 40
  die 1 LKL_ERR_STACK_START_TIMEOUT "redis did not answer PING on $HOST:$REDIS_PORT within ${READY_TIMEOUT}s (log: $REDIS_LOG)"
}

redis_stop() {
  local pid
  pid="$(redis_pid)"
  if [[ -z "$pid" ]]; then
    log "redis not running"
    rm -f "$REDIS_PIDFILE"
    return 0
  fi
  stop_pid redis "$pid"
  rm -f "$REDIS_PIDFILE"
}

# ---------------------------------------------------------------------------
# Kafka
# ---------------------------------------------------------------------------
write_kafka_config() {
  ensure_state_dir
  mkdir -p "$KAFKA_DATA"
  cat >"$KAFKA_CONFIG" <<EOF
# Generated by scripts/stack/stack.sh on every start; edits are overwritten.
# Single-node KRaft: this process is both broker and controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT

log.dirs=$KAFKA_DATA
num.partitions=4
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
delete.topic.enable=true

offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0

log.retention.hours=168
log.segment.bytes=1073741824
log.retention.check.interval.ms=300000
EOF
  cat >"$KAFKA_LOG4J" <<'EOF'
# Generated by scripts/stack/stack.sh: broker logging (stdout, redirected to kafka.log).
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.network.RequestChannel$=WARN
log4j.logger.state.change.logger=INFO
log4j.logger.kafka.authorizer.logger=WARN
log4j.logger.kafka.log.LogCleaner=INFO
EOF
  cat >"$PROBE_CONFIG" <<'EOF'
# Generated by scripts/stack/stack.sh: admin client settings for the readiness probe.
request.timeout.ms=5000
default.api.timeout.ms=10000
retry.backoff.ms=200
EOF
  write_tools_log4j
}

kafka_format_if_needed() {
  if [[ -f "$KAFKA_DATA/meta.properties" ]]; then
    return 0
  fi
  local cluster_id t0
  t0="$(now_ms)"
  if [[ -s "$KAFKA_DIR/cluster.id" ]]; then
    cluster_id="$(cat "$KAFKA_DIR/cluster.id")"
  else
    cluster_id="$(run_tool "$CLASS_STORAGE_TOOL" random-uuid | tail -n1 | tr -d '[:space:]')"
    [[ -n "$cluster_id" ]] || die 1 LKL_ERR_STACK_START_FAILED "could not generate a Kafka cluster id"
    printf '%s\n' "$cluster_id" >"$KAFKA_DIR/cluster.id"
  fi
  log "Formatting Kafka KRaft storage in $KAFKA_DATA (cluster id $cluster_id) ..."
  if ! run_tool "$CLASS_STORAGE_TOOL" format -t "$cluster_id" -c "$KAFKA_CONFIG" --ignore-formatted >>"$KAFKA_LOG" 2>&1; then
    tail_log "$KAFKA_LOG" 40
    die 1 LKL_ERR_STACK_START_FAILED "kafka storage format failed (log: $KAFKA_LOG)"
  fi
  log "Formatted in $(elapsed "$t0")"
}

kafka_probe() { # one metadata round-trip; succeeds when the broker answers
  local budget="${1:-20}"
  timeout "$budget" "$(java_bin)" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dlog4j.configuration="file:$TOOLS_LOG4J" -cp "$LIBS/*" "$CLASS_TOPIC_COMMAND" \
    --bootstrap-server "$HOST:$KAFKA_PORT" --command-config "$PROBE_CONFIG" --list >/dev/null 2>&1
}

kafka_wait_ready() { # kafka_wait_ready <pid> <t0-ms>
  local pid="$1" t0="$2" deadline=$((SECONDS + READY_TIMEOUT)) remaining
  while ((SECONDS < deadline)); do
    if ! pid_alive "$pid"; then
      rm -f "$KAFKA_PIDFILE"
      tail_log "$KAFKA_LOG" 40
      die 1 LKL_ERR_STACK_START_FAILED "kafka exited during startup (log: $KAFKA_LOG)"
    fi
    if port_open "$KAFKA_PORT"; then
      remaining=$((deadline - SECONDS))
      ((remaining > 20)) && remaining=20
      ((remaining < 3)) && remaining=3
      if kafka_probe "$remaining"; then
        log "kafka ready (pid $pid, $HOST:$KAFKA_PORT, controller $HOST:$KAFKA_CONTROLLER_PORT) in $(elapsed "$t0")"
        return 0
      fi
    fi
    sleep 0.5
  done
  tail_log "$KAFKA_LOG" 40
  die 1 LKL_ERR_STACK_START_TIMEOUT "kafka did not answer a metadata request on $HOST:$KAFKA_PORT within ${READY_TIMEOUT}s" \
    "(pid $pid left running for inspection; log: $KAFKA_LOG; stop it with: stack.sh kafka-stop)"
}

kafka_start() {
  require_tools java
  ensure_jars
  ensure_state_dir
  local pid t0
  pid="$(kafka_pid)"
  if [[ -n "$pid" ]]; then
    if port_open "$KAFKA_PORT"; then
      log "kafka already running (pid $pid, $HOST:$KAFKA_PORT)"
      return 0
    fi
    log "kafka process $pid exists but is not listening yet; waiting for it ..."
    write_tools_log4j
    kafka_wait_ready "$pid" "$(now_ms)"
    return 0
  fi
  ensure_port_free "$KAFKA_PORT" "kafka broker"
  ensure_port_free "$KAFKA_CONTROLLER_PORT" "kafka controller"
  t0="$(now_ms)"
  write_kafka_config
  printf '\n===== %s stack.sh starting kafka %s =====\n' "$(date -Is)" "$(kafka_version)" >>"$KAFKA_LOG"
  kafka_format_if_needed

  local heap jvm launcher=()
  # shellcheck disable=SC2206
  heap=(${KAFKA_HEAP_OPTS})
  # shellcheck disable=SC2206
  jvm=(${KAFKA_JVM_OPTS})
  # setsid: the broker must survive the shell (and Ctrl-C in the terminal) that started it.
  command -v setsid >/dev/null 2>&1 && launcher=(setsid)
  (
    cd "$KAFKA_DIR"
    # Do not leak the stack.sh lock fds into the long-running broker.
    exec "${launcher[@]}" "$(java_bin)" "${heap[@]}" "${jvm[@]}" \
      -Dlog4j.configuration="file:$KAFKA_LOG4J" \
      -cp "$LIBS/*" "$CLASS_BROKER" "$KAFKA_CONFIG" \
      </dev/null >>"$KAFKA_LOG" 2>&1 8>&- 9>&-
  ) &
  pid=$!
  printf '%s\n' "$pid" >"$KAFKA_PIDFILE"
  printf '%s\n' "$LIBS" >"$KAFKA_DIR/libs.path"
  kafka_wait_ready "$pid" "$t0"
}

kafka_stop() {
  local pid
  pid="$(kafka_pid)"
  if [[ -z "$pid" ]]; then
    log "kafka not running"
    rm -f "$KAFKA_PIDFILE"
    return 0
  fi
  stop_pid kafka "$pid"
  rm -f "$KAFKA_PIDFILE"
}

# SIGTERM, wait up to STOP_TIMEOUT seconds, then SIGKILL.
stop_pid() { # stop_pid <name> <pid>
  local name="$1" pid="$2" t0
  t0="$(now_ms)"
  log "stopping $name (pid $pid) ..."
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while pid_alive "$pid" && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if pid_alive "$pid"; then
    warn "$name (pid $pid) still alive after ${STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  log "$name stopped in $(elapsed "$t0")"
}

# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------
print_summary() {
  local rv kv
  rv="$(redis_version)"
  kv="$(kafka_version)"
  printf '  redis  %-8s redis://%s:%s  (pid %s, log %s)\n' "${rv:-?}" "$HOST" "$REDIS_PORT" "$(redis_pid)" "$REDIS_LOG"
  printf '  kafka  %-8s %s:%s  (controller %s:%s, pid %s, log %s)\n' "${kv:-?}" "$HOST" "$KAFKA_PORT" \
    "$HOST" "$KAFKA_CONTROLLER_PORT" "$(kafka_pid)" "$KAFKA_LOG"
  printf 'KAFKA_BROKERS=%s:%s REDIS_URL=redis://%s:%s\n' "$HOST" "$KAFKA_PORT" "$HOST" "$REDIS_PORT"
}

cmd_up() {
  if jars_present; then
    require_tools redis-server redis-cli java
  else
    require_tools redis-server redis-cli java mvn
  fi
  with_lock
  local was_up=0 t0
  t0="$(now_ms)"
  if [[ -n "$(redis_pid)" && -n "$(kafka_pid)" ]] && port_open "$REDIS_PORT" && port_open "$KAFKA_PORT"; then
    was_up=1
  fi
  # Check every port we will need before starting anything, so a busy port does not leave
  # a half-started stack behind.
  [[ -n "$(redis_pid)" ]] || ensure_port_free "$REDIS_PORT" redis
  if [[ -z "$(kafka_pid)" ]]; then
    ensure_port_free "$KAFKA_PORT" "kafka broker"
    ensure_port_free "$KAFKA_CONTROLLER_PORT" "kafka controller"
  fi
  ensure_jars
  redis_start
  kafka_start
  if ((was_up)); then
    log "stack already up:"
  else
    log "stack up in $(elapsed "$t0"):"
  fi
  print_summary
}

cmd_down() {
  with_lock
  kafka_stop
  redis_stop
  log "stack down"
}

cmd_reset() {
  with_lock
  kafka_stop
  redis_stop
  if [[ -f "$STATE_MARKER" ]]; then
    rm -rf -- "$STATE_DIR"
    log "removed state dir $STATE_DIR (jar cache $CACHE_DIR kept)"
  elif [[ -e "$STATE_DIR" ]]; then
    die 1 LKL_ERR_STACK_UNSAFE_RESET "$STATE_DIR does not look like a stack state dir (no .lklab-stack marker); not deleting"
  fi
}

cmd_status() {
  local json=0
  while (($#)); do
    case "$1" in
      --json) json=1 ;;
      *) die 64 LKL_ERR_STACK_USAGE "unknown status option: $1" ;;
    esac
    shift
  done
  local rpid kpid rrun=false krun=false rlisten=false klisten=false rv kv rc=0
  rpid="$(redis_pid)"
  kpid="$(kafka_pid)"
  [[ -n "$rpid" ]] && rrun=true
  [[ -n "$kpid" ]] && krun=true
  port_open "$REDIS_PORT" && rlisten=true
  port_open "$KAFKA_PORT" && klisten=true
  rv="$(redis_version)"
  # Version of the jars the running broker was started from (it may use another LKLAB_CACHE_DIR).
  local klibs="$LIBS"
  if [[ -n "$kpid" && -s "$KAFKA_DIR/libs.path" ]]; then klibs="$(head -n1 "$KAFKA_DIR/libs.path")"; fi
  kv="$(kafka_version "$klibs")"
  local rup=false kup=false
  [[ "$rrun" == true && "$rlisten" == true ]] && rup=true
  [[ "$krun" == true && "$klisten" == true ]] && kup=true
  [[ "$rup" == true && "$kup" == true ]] || rc=3

  if ((json)); then
    printf '{"up":%s,' "$([[ $rc == 0 ]] && echo true || echo false)"
    printf '"redis":{"running":%s,"listening":%s,"pid":%s,"address":"%s:%s","url":"redis://%s:%s","version":%s,"log":%s,"dataDir":%s},' \
      "$rrun" "$rlisten" "${rpid:-null}" "$HOST" "$REDIS_PORT" "$HOST" "$REDIS_PORT" \
      "$(json_str "$rv")" "$(json_str "$REDIS_LOG")" "$(json_str "$REDIS_DIR")"
    printf '"kafka":{"running":%s,"listening":%s,"pid":%s,"address":"%s:%s","controller":"%s:%s","version":%s,"log":%s,"dataDir":%s,"libs":%s},' \
      "$krun" "$klisten" "${kpid:-null}" "$HOST" "$KAFKA_PORT" "$HOST" "$KAFKA_CONTROLLER_PORT" \
      "$(json_str "$kv")" "$(json_str "$KAFKA_LOG")" "$(json_str "$KAFKA_DATA")" "$(json_str "$klibs")"
    printf '"env":{"KAFKA_BROKERS":"%s:%s","REDIS_URL":"redis://%s:%s"}}\n' "$HOST" "$KAFKA_PORT" "$HOST" "$REDIS_PORT"
  else
    local state
    if [[ "$rup" == true ]]; then state=running; elif [[ "$rrun" == true ]]; then state="starting (not listening)"; else state=down; fi
    [[ "$rrun" == false && "$rlisten" == true ]] && state="down (port $REDIS_PORT is used by another process)"
    printf 'redis  %-8s pid %-8s %s:%-6s version %-8s log %s\n' "${state%% *}" "${rpid:--}" "$HOST" "$REDIS_PORT" "${rv:-?}" "$REDIS_LOG"
    [[ "$state" == *" "* ]] && printf '       note: %s\n' "$state"
    if [[ "$kup" == true ]]; then state=running; elif [[ "$krun" == true ]]; then state="starting (not listening)"; else state=down; fi
    [[ "$krun" == false && "$klisten" == true ]] && state="down (port $KAFKA_PORT is used by another process)"
    printf 'kafka  %-8s pid %-8s %s:%-6s version %-8s log %s\n' "${state%% *}" "${kpid:--}" "$HOST" "$KAFKA_PORT" \
      "${kv:-"(not fetched)"}" "$KAFKA_LOG"
    [[ "$state" == *" "* ]] && printf '       note: %s\n' "$state"
    if ((rc == 0)); then
      printf 'KAFKA_BROKERS=%s:%s REDIS_URL=redis://%s:%s\n' "$HOST" "$KAFKA_PORT" "$HOST" "$REDIS_PORT"
    fi
  fi
  return "$rc"
}

cmd_logs() {
  local which=all n=50 follow=0
  while (($#)); do
    case "$1" in
      redis | kafka) which="$1" ;;
      -n)
        [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || die 64 LKL_ERR_STACK_USAGE "-n needs a number"
        n="$2"
        shift
        ;;
      -n[0-9]*) n="${1#-n}" ;;
      -f | --follow) follow=1 ;;
      *) die 64 LKL_ERR_STACK_USAGE "usage: stack.sh logs [redis|kafka] [-n N] [-f]" ;;
    esac
    shift
  done
  local files=()
  [[ "$which" == all || "$which" == redis ]] && files+=("$REDIS_LOG")
  [[ "$which" == all || "$which" == kafka ]] && files+=("$KAFKA_LOG")
  local f existing=()
  for f in "${files[@]}"; do
    if [[ -f "$f" ]]; then existing+=("$f"); else warn "no log yet: $f"; fi
  done
  ((${#existing[@]})) || return 0
  if ((follow)); then
    exec tail -n "$n" -F "${existing[@]}"
  fi
  tail -n "$n" "${existing[@]}"
}

require_kafka_up() {
  require_tools java
  ensure_jars
  write_tools_log4j
  if ! port_open "$KAFKA_PORT"; then
    die 3 LKL_ERR_STACK_DOWN "kafka is not listening on $HOST:$KAFKA_PORT (run: stack.sh up)"
  fi
}

cmd_console_consumer() {
  local topic="" max="" timeout_ms=5000 extra=()
  while (($#)); do
    case "$1" in
      --max | --max-messages)
        [[ $# -ge 2 ]] || die 64 LKL_ERR_STACK_USAGE "--max needs a number"
        max="$2"
        shift
        ;;
      --timeout-ms)
        [[ $# -ge 2 ]] || die 64 LKL_ERR_STACK_USAGE "--timeout-ms needs a number"
        timeout_ms="$2"
        shift
        ;;
      --follow) timeout_ms="" ;;
      --)
        shift
        extra+=("$@")
        break
        ;;
      -*) extra+=("$1") ;;
      *)
        if [[ -z "$topic" ]]; then topic="$1"; else extra+=("$1"); fi
        ;;
    esac
    shift
  done
  [[ -n "$topic" ]] || die 64 LKL_ERR_STACK_USAGE "usage: stack.sh console-consumer TOPIC [--max N] [--timeout-ms MS | --follow] [-- extra ConsoleConsumer args]"
  require_kafka_up
  local args=(--bootstrap-server "$HOST:$KAFKA_PORT" --topic "$topic" --from-beginning)
  [[ -n "$max" ]] && args+=(--max-messages "$max")
  [[ -n "$timeout_ms" ]] && args+=(--timeout-ms "$timeout_ms")
  # ConsoleConsumer reports its normal --timeout-ms exit as "ERROR ... TimeoutException";
  # rewrite exactly that pair of stderr lines into a plain note, pass everything else through.
  local rc=0
  {
    run_tool "$CLASS_CONSOLE_CONSUMER" "${args[@]}" "${extra[@]}" 2>&1 1>&3 3>&- |
      awk -v ms="$timeout_ms" '
        held != "" {
          if ($0 == "org.apache.kafka.common.errors.TimeoutException") {
            printf "(no new messages for %s ms, stopping)\n", ms; held = ""; fflush(); next
          }
          print held; held = ""
        }
        /ERROR Error processing message, terminating consumer process:/ { held = $0; next }
        { print; fflush() }
        END { if (held != "") print held }' >&2
    rc="${PIPESTATUS[0]}"
  } 3>&1
  return "$rc"
}

cmd_consumer_perf() {
  [[ $# -ge 2 ]] || die 64 LKL_ERR_STACK_USAGE "usage: stack.sh consumer-perf TOPIC MESSAGES [extra ConsumerPerformance args]"
  local topic="$1" messages="$2"
  shift 2
  [[ "$messages" =~ ^[0-9]+$ ]] || die 64 LKL_ERR_STACK_USAGE "MESSAGES must be a number"
  require_kafka_up
  run_tool "$CLASS_CONSUMER_PERF" --bootstrap-server "$HOST:$KAFKA_PORT" --topic "$topic" --messages "$messages" "$@"
}

cmd_producer_perf() {
  [[ $# -ge 3 ]] || die 64 LKL_ERR_STACK_USAGE "usage: stack.sh producer-perf TOPIC RECORDS PAYLOAD_FILE [extra ProducerPerformance args]"
  local topic="$1" records="$2" payload="$3"
  shift 3
  [[ "$records" =~ ^[0-9]+$ ]] || die 64 LKL_ERR_STACK_USAGE "RECORDS must be a number"
  [[ -f "$payload" ]] || die 64 LKL_ERR_STACK_USAGE "PAYLOAD_FILE $payload does not exist"
  require_kafka_up
  # The lab's producer guarantees: idempotent, acks=all; --throughput -1 = as fast as it can.
  run_tool "$CLASS_PRODUCER_PERF" --topic "$topic" --num-records "$records" --throughput -1 \
    --payload-file "$payload" --payload-delimiter $'\n' \
    --producer-props "bootstrap.servers=$HOST:$KAFKA_PORT" acks=all enable.idempotence=true "$@"
}

cmd_kafka_topics() {
  require_kafka_up
  run_tool "$CLASS_TOPIC_COMMAND" --bootstrap-server "$HOST:$KAFKA_PORT" "$@"
}

usage() {
  cat <<EOF
Lambda-Kappa Lab local stack (Redis $HOST:$REDIS_PORT + Kafka KRaft $HOST:$KAFKA_PORT)

Usage: scripts/stack/stack.sh <command> [args]

  up                         start Redis and Kafka (fetches Kafka jars on first use), wait until ready
  down                       stop both (SIGTERM, up to ${STOP_TIMEOUT}s, then SIGKILL)
  status [--json]            show state; exit 0 if both up, 3 otherwise
  logs [redis|kafka] [-n N] [-f]
                             tail the log files
  kafka-start | kafka-stop   start/stop only the Kafka broker (data survives)
  redis-start | redis-stop   start/stop only Redis
  reset                      down + delete the state dir ($STATE_DIR); keeps the jar cache
  fetch                      only fetch the Kafka $KAFKA_VERSION jars into $LIBS
  console-consumer TOPIC [--max N] [--timeout-ms MS | --follow] [-- extra args]
                             print the values of TOPIC from the beginning ($CLASS_CONSOLE_CONSUMER)
  consumer-perf TOPIC MESSAGES [extra args]
                             run $CLASS_CONSUMER_PERF against the broker
  producer-perf TOPIC RECORDS PAYLOAD_FILE [extra args]
                             run $CLASS_PRODUCER_PERF (idempotent, acks=all, values from
                             PAYLOAD_FILE, one a line) against the broker
  kafka-topics ARGS...       run $CLASS_TOPIC_COMMAND with --bootstrap-server preset
                             (e.g. kafka-topics --create --topic t --partitions 4)

Environment: LKLAB_CACHE_DIR ($CACHE_DIR), LKLAB_STACK_DIR ($STATE_DIR),
  LKLAB_KAFKA_PORT, LKLAB_KAFKA_CONTROLLER_PORT, LKLAB_REDIS_PORT, LKLAB_KAFKA_VERSION,
  LKLAB_KAFKA_HEAP_OPTS ("$KAFKA_HEAP_OPTS"), LKLAB_KAFKA_JVM_OPTS, LKLAB_STACK_TIMEOUT (${READY_TIMEOUT}s),
  LKLAB_STACK_STOP_TIMEOUT (${STOP_TIMEOUT}s), LKLAB_MAVEN_ARGS (extra mvn flags, e.g. -o or -s settings.xml)
EOF
}

main() {
  local cmd="${1:-help}"
  (($#)) && shift
  case "$cmd" in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    logs) cmd_logs "$@" ;;
    kafka-start)
      with_lock
      kafka_start
      ;;
    kafka-stop)
      with_lock
      kafka_stop
      ;;
    redis-start)
      with_lock
      redis_start
      ;;
    redis-stop)
      with_lock
      redis_stop
      ;;
    reset) cmd_reset "$@" ;;
    fetch) cmd_fetch "$@" ;;
    console-consumer) cmd_console_consumer "$@" ;;
    consumer-perf) cmd_consumer_perf "$@" ;;
    producer-perf) cmd_producer_perf "$@" ;;
    kafka-topics) cmd_kafka_topics "$@" ;;
    help | -h | --help) usage ;;
    *)
      usage >&2
      die 64 LKL_ERR_STACK_USAGE "unknown command: $cmd"
      ;;
  esac
}

main "$@"

#!/usr/bin/env bash
# Builds and runs the YSB Kafka Streams peer (bench/peers/kafka-streams-ysb).
#
#   bench/peers/kafka-streams-ysb/peer.sh build            compile into target/ (classes + runtime jars in target/lib)
#   bench/peers/kafka-streams-ysb/peer.sh run ARGS...      run it (builds first if needed); ARGS: see YsbKafkaStreams.java
#
# The Kafka version is the local stack's (scripts/stack/pom.xml). Maven resolves into its usual
# local repository (~/.m2, outside git); LKLAB_MAVEN_ARGS passes extra flags (e.g. "-o" offline
# once the jars are there, or "-Dmaven.repo.local=/some/cache").
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../../.." && pwd)"
STACK_POM="$REPO_ROOT/scripts/stack/pom.xml"
KAFKA_VERSION="${LKLAB_KAFKA_VERSION:-$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$STACK_POM" | head -n1)}"
TARGET="$HERE/target"
STAMP="$TARGET/.built-$KAFKA_VERSION"

PEER_NAME="Kafka Streams"
# shellcheck source=../common/peer-build.sh
source "$HERE/../common/peer-build.sh"

case "${1:-}" in
  build) peer_build -Dkafka.version="$KAFKA_VERSION" ;;
  run)
    shift
    peer_built || peer_build -Dkafka.version="$KAFKA_VERSION"
    exec java ${LKLAB_PEER_JVM_OPTS:--Xmx1g -XX:+UseG1GC} -cp "$TARGET/classes:$TARGET/lib/*" dev.lklab.peers.YsbKafkaStreams "$@"
    ;;
  version) echo "$KAFKA_VERSION" ;;
  *)
    echo "usage: $0 build | run ARGS... | version" >&2
    exit 64
    ;;
esac

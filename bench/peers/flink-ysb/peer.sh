#!/usr/bin/env bash
# Builds and runs the YSB Apache Flink peer (bench/peers/flink-ysb): a local MiniCluster in one JVM.
#
#   bench/peers/flink-ysb/peer.sh build            compile into target/ (classes + runtime jars in target/lib)
#   bench/peers/flink-ysb/peer.sh run ARGS...      run it (builds first if needed); ARGS: see YsbFlink.java
#   bench/peers/flink-ysb/peer.sh version          the Flink version (pom.xml)
#
# Flink and its Kafka connector come from Maven Central (pom.xml). Maven resolves into its usual
# local repository (~/.m2, outside git); LKLAB_MAVEN_ARGS passes extra flags (e.g. "-o" offline
# once the jars are there, or "-Dmaven.repo.local=/some/cache").
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FLINK_VERSION="$(sed -n 's:.*<flink.version>\(.*\)</flink.version>.*:\1:p' "$HERE/pom.xml" | head -n1)"
TARGET="$HERE/target"
STAMP="$TARGET/.built-$FLINK_VERSION"

PEER_NAME="Flink"
# shellcheck source=../common/peer-build.sh
source "$HERE/../common/peer-build.sh"

case "${1:-}" in
  build) peer_build ;;
  run)
    shift
    peer_built || peer_build
    # Flink 2 on Java 17 reflects into java.base (its serializers, the MiniCluster's memory manager).
    exec java ${LKLAB_PEER_JVM_OPTS:--Xmx1g -XX:+UseG1GC} \
      --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED \
      --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
      -cp "$TARGET/classes:$TARGET/lib/*" dev.lklab.peers.YsbFlink "$@"
    ;;
  version) echo "$FLINK_VERSION" ;;
  *)
    echo "usage: $0 build | run ARGS... | version" >&2
    exit 64
    ;;
esac

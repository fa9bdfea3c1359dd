# Sourced by each peer's peer.sh: the Maven build of a peer into its target/ (classes + runtime
# jars in target/lib) and the check whether that build is current. The caller sets HERE (its
# folder), TARGET, STAMP (a file named after the versions it builds against) and PEER_NAME.
# LKLAB_MAVEN_ARGS passes extra flags to mvn (e.g. "-o" offline once the jars are there).

# peer_build [MVN_ARGS...]: builds the peer; extra arguments go to mvn (e.g. -Dkafka.version=…).
peer_build() {
  command -v mvn >/dev/null || { echo "LKL_ERR_STACK_TOOL_MISSING: mvn not found (Debian package: maven)" >&2; exit 2; }
  command -v javac >/dev/null || { echo "LKL_ERR_STACK_TOOL_MISSING: javac not found (Debian package: openjdk-17-jdk-headless)" >&2; exit 2; }
  local extra=()
  # shellcheck disable=SC2206  # intentional word splitting of user-provided extra flags
  [[ -n "${LKLAB_MAVEN_ARGS:-}" ]] && extra=(${LKLAB_MAVEN_ARGS})
  mkdir -p "$TARGET"
  rm -rf "$TARGET/lib"
  if ! mvn -q -B -Dstyle.color=never -f "$HERE/pom.xml" "${extra[@]}" "$@" \
    compile dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$TARGET/lib" \
    >"$TARGET/build.log" 2>&1; then
    tail -n 60 "$TARGET/build.log" >&2
    echo "LKL_ERR_BENCH_PEER_BUILD: mvn could not build the $PEER_NAME peer (see $TARGET/build.log)" >&2
    exit 1
  fi
  rm -f "$TARGET"/.built-*
  touch "$STAMP"
}

# peer_built: true when the last build is newer than the peer's sources, the shared ones and its pom.
peer_built() {
  [[ -f "$STAMP" ]] || return 1
  [[ -z "$(find "$HERE/src" "$HERE/../common" "$HERE/pom.xml" -newer "$STAMP" -print -quit)" ]]
}

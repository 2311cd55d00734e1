# Sourced by the suites that build Rust: one cargo package selection for every suite (the
# desktop app included, since it links the engine), so features unify once and burn and
# Tauri (the slowest crate graphs) are each compiled once per machine. The app embeds the
# built UI at compile time, so `rust_build` sets up the viewer's prerequisites and builds
# the UI first.
# `rust_build` builds every test binary of the selection; `rust_test NAME [ARGS...]` runs
# one test binary (an integration test's name, `lib:CRATE` for a crate's unit tests,
# `bin:NAME` for a binary's) directly, with no further cargo resolution;
# `rust_test_package PKG [ARGS...]` runs all of a package's; `$MEDLENS_BIN` is `medlens`.
RUST_SELECTION=(-p medlens-dicom -p medlens-cli -p medlens-engine -p medlens-app)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/medlens/target}
MEDLENS_BIN="$CARGO_TARGET_DIR/debug/medlens"
_rust_map="$CARGO_TARGET_DIR/medlens-test-binaries.tsv"

rust_build() {
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  (cd "$root" && bash scripts/setup-viewer.sh && npm run build) || return 1
  # --all-targets resolves features with the dev-dependencies, as `cargo test` does, so the
  # binaries built here and the test binaries share one build of every dependency.
  cargo build --locked "${RUST_SELECTION[@]}" --all-targets || return 1
  cargo test --locked "${RUST_SELECTION[@]}" --no-run --message-format=json-render-diagnostics \
    | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") != "compiler-artifact" or not m.get("executable"):
        continue
    t = m["target"]; pkg = m["package_id"].rsplit("#", 1)[-1].split("@")[0]
    name = t["name"] if "test" in t["kind"] else t["kind"][0] + ":" + t["name"]
    if m["profile"]["test"]:
        print(pkg, name, m["executable"], m["manifest_path"].rsplit("/", 1)[0], sep="\t")
' > "$_rust_map"
  # The test build compiles the binary too (integration tests run it).
  test -x "$MEDLENS_BIN" || { echo "rust_build: $MEDLENS_BIN missing"; return 1; }
}

rust_test() {
  local name=$1; shift
  local exe dir
  exe=$(awk -F'\t' -v n="$name" '$2 == n { print $3; exit }' "$_rust_map")
  dir=$(awk -F'\t' -v n="$name" '$2 == n { print $4; exit }' "$_rust_map")
  if [ -z "$exe" ]; then echo "rust_test: no test binary '$name' in $_rust_map"; return 1; fi
  echo "--- $name: $exe $*"
  # As cargo test does: run from the package's directory.
  (cd "$dir" && "$exe" "$@")
}

# Runs every test binary of a package (as `cargo test -p PACKAGE` would), with ARGS.
rust_test_package() {
  local pkg=$1; shift
  local names
  names=$(awk -F'\t' -v p="$pkg" '$1 == p { print $2 }' "$_rust_map")
  if [ -z "$names" ]; then echo "rust_test_package: no test binaries for $pkg"; return 1; fi
  for n in $names; do rust_test "$n" "$@" || return 1; done
}

#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer through cargo-fuzz) of the parsers that take outside
# input: routing documents, templates, answer validation, choice matching, emails.
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]    (default 60 s, every target)
# Installs cargo-fuzz from crates.io when missing. Each target's corpus grows in
# target/fuzz/corpus/<target>, seeded from fuzz/seeds/<target>; a crash is written to
# target/fuzz/artifacts/<target> and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(document template answer choice email)
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
# cargo-fuzz passes sanitizer flags that need an unstable compiler switch; the machine's one
# (stable) toolchain accepts them this way
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$PWD/target/fuzz"
for t in "${targets[@]}"; do
  corpus="$CARGO_TARGET_DIR/corpus/$t"
  artifacts="$CARGO_TARGET_DIR/artifacts/$t/"
  mkdir -p "$corpus" "$artifacts"
  echo "== $t: ${seconds}s"
  log="$CARGO_TARGET_DIR/$t.log"
  status=0
  cargo fuzz run "$t" --fuzz-dir fuzz "$corpus" "fuzz/seeds/$t" -- \
    -max_total_time="$seconds" -max_len=65536 -artifact_prefix="$artifacts" \
    -print_final_stats=1 > "$log" 2>&1 || status=$?
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY|ERROR: libFuzzer" "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -40 "$log"; echo "$t: failed (crash inputs, if any, in $artifacts)"; exit 1
  fi
done

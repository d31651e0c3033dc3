#!/usr/bin/env bash
# Fuzzes sigmax's readers and decoders: every target of sigmax-fuzz for SECONDS each
# (default 900), PARALLEL at a time (default 1), at low priority. The corpus grows in
# crates/sigmax-fuzz/corpus/TARGET (commit it: CI replays it); findings (inputs that
# panicked, aborted, hung or allocated above the cap) go to fuzz-findings/, with a
# summary in fuzz-findings/log.
#   scripts/fuzz.sh 900 2          # ~1 hour on 2 cores, 15 minutes per target
#   target/release/sigmax-fuzz replay TARGET fuzz-findings   # re-run the findings
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-900}
parallel=${2:-1}
cargo build --release -q -p sigmax-fuzz
mkdir -p fuzz-findings
targets=(libsvm csv idx model liblinear cache checkpoint)
run_one() {
    local t=$1
    local start=$(date +%s)
    if nice -n 19 target/release/sigmax-fuzz run "$t" --seconds "$seconds" --findings fuzz-findings \
        > "fuzz-findings/$t.out" 2> "fuzz-findings/$t.err"; then status=clean; else status=FINDINGS; fi
    echo "$(date -u +%FT%TZ) $t ${seconds}s wall $(( $(date +%s) - start ))s: $(tail -n 1 "fuzz-findings/$t.err") — $status" >> fuzz-findings/log
}
export -f run_one
export seconds
printf '%s\n' "${targets[@]}" | xargs -P "$parallel" -I{} bash -c 'run_one {}'
cat fuzz-findings/log
ls fuzz-findings | grep -v -e '\.out$' -e '\.err$' -e '^log$' || echo "no findings"

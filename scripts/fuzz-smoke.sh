#!/usr/bin/env bash
# Fuzz smoke test: builds every cargo-fuzz target of fuzz/ and runs each one for a short time,
# starting from its committed seed corpus (fuzz/corpus/<target>/).
#
# Usage: scripts/fuzz-smoke.sh [SECONDS]      (SECONDS per target, default 20)
#
# Environment:
#   FUZZ_SANITIZER   cargo-fuzz sanitizer (default `none`: the crate forbids `unsafe`, so
#                    AddressSanitizer finds nothing more and halves the speed; `address` works too)
#   FUZZ_TARGETS     space-separated subset of targets (default: all, from `cargo fuzz list`)
#   FUZZ_ARTIFACTS   where crashing inputs are written (default fuzz/artifacts, git-ignored)
#
# The corpus is copied to a scratch directory, so new inputs never land in the repository.
# Prints one line per target; on a crash, prints the fuzzer's report and the crashing input's
# path, carries on with the other targets and exits non-zero.
set -euo pipefail

secs="${1:-20}"
if ! [[ "$secs" =~ ^[0-9]+$ ]] || [ "$secs" -eq 0 ]; then
    echo "usage: $0 [SECONDS]  (a positive whole number of seconds per target)" >&2
    exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fuzz_dir="$root/fuzz"
sanitizer="${FUZZ_SANITIZER:-none}"
artifacts="${FUZZ_ARTIFACTS:-$fuzz_dir/artifacts}"
mkdir -p "$artifacts"
artifacts="$(cd "$artifacts" && pwd)"

# cargo-fuzz passes `-Z` flags (for sanitizers); RUSTC_BOOTSTRAP lets the stable toolchain take them.
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz..."
    cargo install cargo-fuzz --locked --quiet
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

cd "$fuzz_dir"
if ! cargo fuzz build --sanitizer "$sanitizer" >"$scratch/build.log" 2>&1; then
    cat "$scratch/build.log" >&2
    echo "fuzz-smoke: build failed" >&2
    exit 1
fi

if [ -n "${FUZZ_TARGETS:-}" ]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    mapfile -t targets < <(cargo fuzz list)
fi

failed=0
start=$SECONDS
for t in "${targets[@]}"; do
    corpus="$scratch/corpus/$t"
    mkdir -p "$corpus" "$artifacts/$t"
    if [ -d "corpus/$t" ]; then
        cp -R "corpus/$t/." "$corpus/"
    fi
    log="$scratch/$t.log"
    status=0
    cargo fuzz run --sanitizer "$sanitizer" "$t" "$corpus" -- \
        -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$artifacts/$t/" >"$log" 2>&1 || status=$?
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    if [ "$status" -eq 0 ]; then
        echo "$t: ${runs:-?} runs, ok"
    else
        failed=1
        echo "$t: ${runs:-?} runs, FAILED (exit $status)"
        # The fuzzer's report, without the per-input progress lines.
        grep -v -E '^#[0-9]+[[:space:]]+(INITED|NEW|REDUCE|pulse|RELOAD)' "$log" | tail -n 60 >&2
        input="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)"
        if [ -n "$input" ] && [ -f "$input" ]; then
            echo "crashing input: $input" >&2
            echo "  base64: $(base64 -w0 <"$input" | head -c 4096)" >&2
            echo "  reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer $sanitizer $t $input" >&2
        else
            echo "no crashing input written (see the report above)" >&2
        fi
    fi
done

elapsed=$((SECONDS - start))
if [ "$failed" -ne 0 ]; then
    echo "fuzz-smoke: FAILED (${elapsed}s of fuzzing)" >&2
    exit 1
fi
echo "fuzz-smoke: ${#targets[@]} targets ok (${elapsed}s of fuzzing)"

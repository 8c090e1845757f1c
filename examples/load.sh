#!/usr/bin/env bash
# Load comparison of the store: the same rmcp server with all three layers (web-bot-auth,
# bot-policy, mcp-auth) and without any, for anonymous and API-token tool calls, under wrk on
# loopback. Not a CI test: the numbers depend on the machine.
#
# Usage: examples/load.sh                (from the workspace root)
#
# Environment:
#   DURATION     seconds per run (default 6)
#   CONNECTIONS  wrk connections (default 32)
#   THREADS      wrk threads (default 2)
#   ROUNDS       rounds per case, each a bare run then a layered run (default 5)
#   PROFILE      cargo profile of the store (default release)
#   PIN          1 (default, on machines with two or more CPUs and taskset): the store on CPU 1
#                and wrk on CPU 0, so that the two do not steal each other's time and the
#                ratio is steadier; 0 to let the scheduler place them
#
# Rate limits stay on but are scaled up (--rate-limit-scale) so that they are checked on every
# call and never reached. Needs wrk (Debian: apt-get install wrk).
set -euo pipefail

duration="${DURATION:-6}"
connections="${CONNECTIONS:-32}"
threads="${THREADS:-2}"
rounds="${ROUNDS:-5}"
profile="${PROFILE:-release}"
pin="${PIN:-1}"
store_cpu=(); wrk_cpu=()
if [ "$pin" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    store_cpu=(taskset -c 1); wrk_cpu=(taskset -c 0)
fi

command -v wrk >/dev/null || { echo "load.sh: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
cd "$(dirname "$0")/.."
cargo build --profile "$profile" -p examples --bin store >&2
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -E 's/.*"target_directory":"([^"]+)".*/\1/')"
profile_dir="$profile"
[ "$profile" = dev ] && profile_dir=debug
store="$target_dir/$profile_dir/store"

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# Starts the store (extra arguments passed on); sets $url, $token and $pid.
start_store() {
    local name="$1"; shift
    local out="$work/$name.out"
    RUST_LOG=warn "${store_cpu[@]}" "$store" --addr 127.0.0.1:0 --data-dir "$work/data" --rate-limit-scale 1000000 "$@" \
        >"$out" 2>"$work/$name.err" &
    pid="$!"
    pids+=("$pid")
    for _ in $(seq 1 100); do
        grep -q '^demo-credentials ' "$out" 2>/dev/null && break
        sleep 0.1
    done
    local line
    line="$(grep '^demo-credentials ' "$out")"
    url="$(sed -E 's/.*"mcp_url":"([^"]+)".*/\1/' <<<"$line")"
    token="$(sed -E 's/.*"api_token":"([^"]+)".*/\1/' <<<"$line")"
}

# Writes a wrk script calling `tool` with `args` (with bearer token $4 unless empty), after
# checking the call succeeds at URL $5.
script() {
    local file="$1" tool="$2" args="$3" bearer="$4"
    {
        echo 'wrk.method = "POST"'
        echo "wrk.body = '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"$tool\",\"arguments\":$args}}'"
        echo 'wrk.headers["content-type"] = "application/json"'
        echo 'wrk.headers["accept"] = "application/json, text/event-stream"'
        echo 'wrk.headers["user-agent"] = "load/1.0"'
        [ -n "$bearer" ] && echo "wrk.headers[\"authorization\"] = \"Bearer $bearer\""
    } >"$file"
    # The call must succeed before it is measured (a refusal or a JSON-RPC error is fast too).
    local auth=()
    [ -n "$bearer" ] && auth=(-H "authorization: Bearer $bearer")
    local answer
    answer="$(curl -s -w ' %{http_code}' "$5" -H 'content-type: application/json' \
        -H 'accept: application/json, text/event-stream' "${auth[@]}" \
        -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"$tool\",\"arguments\":$args}}")"
    if [[ "$answer" != *'"result"'*' 200' || "$answer" == *'"isError":true'* ]]; then
        echo "load.sh: $tool at $5 does not succeed: $answer" >&2
        exit 1
    fi
}

# CPU time the process $1 has used, in clock ticks (user + system).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Runs wrk against $1 with script $2, the store being process $3; prints requests per second
# and requests per second of the store's CPU time.
rate() {
    local out before after
    before="$(cpu_ticks "$3")"
    out="$("${wrk_cpu[@]}" wrk -t"$threads" -c"$connections" -d"${duration}s" -s "$2" "$1" 2>&1)"
    after="$(cpu_ticks "$3")"
    if grep -q 'Non-2xx' <<<"$out"; then
        echo "load.sh: non-2xx answers:" >&2
        echo "$out" >&2
        exit 1
    fi
    awk -v ticks="$((after - before))" -v hz="$(getconf CLK_TCK)" '
        /^[[:space:]]+[0-9]+ requests in/ {requests = $1}
        /^Requests\/sec:/ {rps = $2}
        END {printf "%s %.1f\n", rps, (ticks > 0) ? requests * hz / ticks : 0}' <<<"$out"
}

start_store layered
layered_url="$url"; layered_token="$token"; layered_pid="$pid"
start_store bare --no-layers
bare_url="$url"; bare_pid="$pid"

best() { printf '%s\n' "$@" | sort -g | tail -1; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# Each round runs the bare store, then the layered one, back to back; a round's ratio is
# layered / bare. Reported: the best requests per second of each side, the median (and the
# range) of the rounds' ratios, which a shared machine's drifts disturb least, and the median
# ratio of requests per second of the store's own CPU time (a store pinned to a CPU and kept
# busy serves one request per so much CPU time; this ratio leaves out time the machine gave
# to others).
printf '%-28s %11s %12s %13s %15s %14s\n' "tool call" "bare req/s" "layers req/s" "median ratio" "range" "per CPU-s"
for case in anonymous api-token; do
    if [ "$case" = anonymous ]; then
        script "$work/bare.lua" catalogue.list '{}' "" "$bare_url"
        script "$work/layered.lua" catalogue.list '{}' "" "$layered_url"
        label="catalogue.list (anonymous)"
    else
        script "$work/bare.lua" inventory.check '{"slug":"scale"}' "" "$bare_url"
        script "$work/layered.lua" inventory.check '{"slug":"scale"}' "$layered_token" "$layered_url"
        label="inventory.check (API token)"
    fi
    bare=(); layered=(); ratios=(); cpu_ratios=()
    for _ in $(seq 1 "$rounds"); do
        read -r b b_cpu < <(rate "$bare_url" "$work/bare.lua" "$bare_pid")
        read -r l l_cpu < <(rate "$layered_url" "$work/layered.lua" "$layered_pid")
        [ -n "$b" ] && [ -n "$l" ] || { echo "load.sh: a run failed" >&2; exit 1; }
        bare+=("$b"); layered+=("$l")
        ratios+=("$(awk -v l="$l" -v b="$b" 'BEGIN {print 100 * l / b}')")
        cpu_ratios+=("$(awk -v l="$l_cpu" -v b="$b_cpu" 'BEGIN {print (b > 0) ? 100 * l / b : 0}')")
    done
    low="$(printf '%s\n' "${ratios[@]}" | sort -g | head -1)"
    high="$(printf '%s\n' "${ratios[@]}" | sort -g | tail -1)"
    printf '%-28s %11.0f %12.0f %12.1f%% %6.1f–%5.1f%% %13.1f%%\n' "$label" "$(best "${bare[@]}")" \
        "$(best "${layered[@]}")" "$(median "${ratios[@]}")" "$low" "$high" "$(median "${cpu_ratios[@]}")"
done

#!/usr/bin/env bash
# pmd-profile.sh - where pvio's PMD thread spends its time in one bench-ab round, by part of pvio, from
# async-profiler's CPU samples. Unlike perf with the JVM's perf map, which charges inlined methods to the
# compiled method they were inlined into (PmdThread.poll holds the flow lookup, the actions and the batching),
# async-profiler resolves inlined frames, so each sample goes to the pvio method whose code it was in.
#
# Runs launcher/bench-ab.sh --rounds 1 (its vswitchd with -XX:+DebugNonSafepoints added to the variant's
# options), loads async-profiler into that vswitchd (jcmd JVMTI.agent_load, event=cpu: perf_events'
# cpu-clock, every 200 us of CPU) 5 s after the front end's warm-up began, for half of --seconds (at least
# 2 s), keeps the samples of the PMD thread (pmd-*) and prints their shares: by part (the
# innermost pvio frame of each sample decides: a JDK copy stub called by the vhost copy is the vhost copy's),
# then the leading innermost frames with that pvio caller. A sample is charged to the instruction the CPU was
# on: a wait for a cache line another core wrote (the guest's descriptors and frames) goes to the first
# instruction that uses the value, which may sit in a later method, even in another part; two runs of the
# same build can move such a wait between parts (read the shares of several runs before drawing a line).
#
# Usage: launcher/pmd-profile.sh [--mode enqueue] [--size 64] [--seconds 12] [--warmup 3] [--top 15]
#                                [--out FILE] [--async] [--packed] VARIANT
#          VARIANT as in bench-ab.sh: JAR or JAR@OPTS (FLOWS=N, NORMAL=N, JVM options with '~' between)
#        launcher/pmd-profile.sh --summarize FILE [--top 15]
#          the tables for a profile written before (async-profiler's collapsed output with threads)
# async-profiler: $ASYNC_PROFILER_LIB (a libasyncProfiler.so), else tools.profiler:async-profiler:3.0 from
# Maven Central (mvn dependency:get into ~/.m2), its linux-x64 library unpacked into a temporary directory.
# stdout: the run's rate ("run 1 VARIANT MPPS", from bench-ab.sh) and the two tables; stderr: progress.
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
MODE=enqueue SIZE=64 SECS=12 WARMUP=3 TOP=15 OUT="" SUMMARIZE="" VARIANT="" AB_ARGS=()
die() { echo "pmd-profile: $*" >&2; exit 2; }
while [ "$#" -gt 0 ]; do
    case "$1" in
        --mode) MODE=$2; shift 2 ;;
        --size) SIZE=$2; shift 2 ;;
        --seconds) SECS=$2; shift 2 ;;
        --warmup) WARMUP=$2; shift 2 ;;
        --top) TOP=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --async|--packed) AB_ARGS+=("$1"); shift ;;
        --summarize) SUMMARIZE=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -u/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) [ -z "$VARIANT" ] || die "one variant only"; VARIANT=$1; shift ;;
    esac
done
[[ "$TOP" =~ ^[0-9]+$ ]] || die "--top takes a number"

# summarize FILE: the PMD's samples by part, then by innermost frame (with its pvio caller)
summarize() {
    awk '
    function part(f) {
        if (f ~ /^io\/pvio\/vhost\/ring\/(Interpreted)?FaultFence|GuestMemory\.deliverPendingFault/) return "vhost: guest-memory fault fence"
        if (f ~ /^io\/pvio\/vhost\/ring\/CpuCopySink|RingWalker\.(loadFrames|readOne|readFrame|writeVec|touch)|^io\/pvio\/memory\//) return "vhost: frame copies"
        if (f ~ /^io\/pvio\/vhost\/async\//) return "vhost: asynchronous copies"
        if (f ~ /^io\/pvio\/vhost\//) return "vhost: rings, descriptors, queue"
        if (f ~ /^io\/pvio\/dma\//) return "DMA channel"
        if (f ~ /^io\/pvio\/dpif\/netdev\/flow\//) return "datapath: flow lookup and counters"
        if (f ~ /^io\/pvio\/dpif\//) return "datapath: PMD loop, actions, batching"
        if (f ~ /^io\/pvio\/packet\//) return "packets: pool and batches"
        if (f ~ /^io\/pvio\/dummy\//) return "pktgen (the bench'"'"'s other port)"
        if (f ~ /^io\/pvio\/netlinux\//) return "tap (the bridge'"'"'s local port)"
        split(f, p, "/"); return "pvio: " p[3]
    }
    {
        n = $NF; stack = $0; sub(/ [0-9]+$/, "", stack)
        k = split(stack, fr, ";")
        if (fr[1] !~ /^\[pmd/) next
        total += n
        who = ""
        for (i = k; i >= 2; i--) if (fr[i] ~ /^io\/pvio\//) { who = fr[i]; break }
        pa = who == "" ? "JVM, kernel and other (no pvio frame)" : part(who)
        byPart[pa] += n
        leaf = fr[k]; sub(/_\[[a-z0-9]+\]$/, "", leaf)
        if (who != "" && who != fr[k]) leaf = leaf " <- " who
        byLeaf[leaf] += n
    }
    END {
        printf "T\t%d\n", total
        for (pa in byPart) printf "P\t%d\t%s\n", byPart[pa], pa
        for (l in byLeaf) printf "L\t%d\t%s\n", byLeaf[l], l
    }' "$1" > "$TMP/sum" || return 1
    local total
    total=$(awk -F'\t' '$1 == "T" { print $2 }' "$TMP/sum")
    [ "${total:-0}" -gt 0 ] || { echo "pmd-profile: no samples of a pmd thread in $1" >&2; return 1; }
    printf '%-45s %7s\n' "part of pvio (PMD thread, $total samples)" share
    awk -F'\t' '$1 == "P"' "$TMP/sum" | sort -t$'\t' -k2,2nr \
        | awk -F'\t' -v t="$total" '{ printf "%-45s %6.1f%%\n", $3, 100 * $2 / t }'
    printf '\n%7s  %s\n' share "innermost frame (<- its innermost pvio caller)"
    awk -F'\t' '$1 == "L"' "$TMP/sum" | sort -t$'\t' -k2,2nr | head -n "$TOP" \
        | awk -F'\t' -v t="$total" '{ printf "%6.1f%%  %s\n", 100 * $2 / t, $3 }'
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pmd-profile.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
if [ -n "$SUMMARIZE" ]; then
    [ -f "$SUMMARIZE" ] || die "no file $SUMMARIZE"
    summarize "$SUMMARIZE"
    exit $?
fi
[ -n "$VARIANT" ] || die "no variant (see --help)"
[[ "$VARIANT" != *" "* ]] || die "the variant may not hold spaces"

LIB=${ASYNC_PROFILER_LIB:-}
if [ -z "$LIB" ]; then
    AP_JAR=$HOME/.m2/repository/tools/profiler/async-profiler/3.0/async-profiler-3.0.jar
    if [ ! -f "$AP_JAR" ]; then
        echo "pmd-profile: fetching tools.profiler:async-profiler:3.0" >&2
        mvn -B -q dependency:get -Dartifact=tools.profiler:async-profiler:3.0 >&2 || die "cannot fetch async-profiler"
    fi
    (cd "$TMP" && unzip -q -o "$AP_JAR" 'linux-x64/*') || die "cannot unpack $AP_JAR"
    LIB=$TMP/linux-x64/libasyncProfiler.so
fi
[ -f "$LIB" ] || die "no $LIB"
[ -n "$OUT" ] || OUT=$TMP/profile.collapsed
OUT=$(readlink -f "$OUT")
rm -f "$OUT"

# bench-ab's round in the background; async-profiler attached to its vswitchd (jcmd JVMTI.agent_load) once the
# traffic has run for the warm-up and a few seconds more, for half of the measured seconds. The JVM records
# debug info at every instruction (DebugNonSafepoints): without it, code compiled before the agent loads maps a
# sample to the nearest call or safepoint poll, often in another method than the one it was in.
DNS=-XX:+UnlockDiagnosticVMOptions~-XX:+DebugNonSafepoints
case "$VARIANT" in *@*) PVARIANT=$VARIANT~$DNS ;; *) PVARIANT=$VARIANT@$DNS ;; esac
"$HERE/bench-ab.sh" --mode "$MODE" --size "$SIZE" --rounds 1 --seconds "$SECS" --warmup "$WARMUP" "${AB_ARGS[@]}" \
    "$PVARIANT" > "$TMP/ab.out" &
AB=$!
jar=$(readlink -f "${VARIANT%%@*}")
pid=""
for _ in $(seq 120); do
    pid=$(pgrep -f "java.*$jar.*vswitchd" | head -1) && [ -n "$pid" ] && break
    kill -0 "$AB" 2>/dev/null || break
    sleep 0.5
done
[ -n "$pid" ] || { wait "$AB"; die "pvio's vswitchd did not start (bench-ab: $(tail -1 "$TMP/ab.out"))"; }
span=$((SECS / 2 > 2 ? SECS / 2 : 2))
sleep $((WARMUP + 5))
echo "pmd-profile: profiling vswitchd $pid for $span s" >&2
load() { jcmd "$pid" JVMTI.agent_load "$LIB" "\"$1\"" 2>&1 | grep -q 'return code: 0'; }
load "start,event=cpu,interval=200us,threads" || echo "pmd-profile: async-profiler did not start" >&2
sleep "$span"
load "stop,file=$OUT,collapsed,threads" || echo "pmd-profile: async-profiler did not stop" >&2
wait "$AB"
grep '^run ' "$TMP/ab.out"
[ -s "$OUT" ] || die "no profile written"
echo
summarize "$OUT"

#!/usr/bin/env bash
# bench-ab.sh - two or more pvio builds (or JVM options) against the same DPDK virtio-user front end,
# measured alternately, pvio only: the tool for "before and after" questions (a regression, a change's gain).
#
# Each variant is JAR or JAR@OPTS (OPTS: JVM options for pvio's vswitchd, '~' between options, e.g.
# /tmp/before.jar  launcher/target/pvio.jar@-Dpvio.vhost.prefetch=false~-XX:+UseParallelGC). Two OPTS are not
# JVM options: FLOWS=N and NORMAL=N (enqueue only) make the pktgen cycle through N source MACs, forwarded by N
# explicit flows or by one NORMAL flow (BENCH_PEER_FLOWS in bench-peer.sh), e.g. J@FLOWS=1 J@FLOWS=100000
# for the cost of many flows with the PMD as the bottleneck; JAVA=PATH runs that variant's vswitchd with another
# java (e.g. JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java). Every round runs
# every variant once, in the order given, through launcher/bench-peer.sh's back end (one PMD pinned to the
# peer's back-end CPU, CPU copies unless --async, the peer's testpmd as the front end: rxonly for enqueue, txonly for
# dequeue); the front end's counters give the rate (Mpps). Alternating rounds spread the host's placement
# changes (see bench-peer.sh) over every variant alike; the table gives each variant's median, range, and the
# ratio of its median to the first variant's.
#
# Usage: launcher/bench-ab.sh [--mode enqueue] [--size 1518] [--rounds 3] [--seconds 4] [--warmup 2]
#                             [--packed] [--async] [--peer ../shared/peers/dpdk-vhost-peer.sh] VARIANT VARIANT...
#   --async  the vhost port copies through dma-ioat (as bench-peer.sh --async); default: CPU copies.
# stdout: one line per run ("run ROUND VARIANT MPPS"), then the table: per variant its median, range and ratio
# of medians to the first variant, and the paired view (the host moves between rounds): the median of its
# per-round ratios to the first variant and in how many rounds it was above; stderr: the peer's progress.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
PEER=${DVHP_PEER:-$(cd "$HERE/../.." && pwd)/shared/peers/dpdk-vhost-peer.sh}
MODE=enqueue SIZE=1518 ROUNDS=3 SECS=4 WARMUP=2 FE_ARGS=() VARIANTS=() ASYNC=0
die() { echo "bench-ab: $*" >&2; exit 2; }
while [ "$#" -gt 0 ]; do
    case "$1" in
        --mode) MODE=$2; shift 2 ;;
        --size) SIZE=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --seconds) SECS=$2; shift 2 ;;
        --warmup) WARMUP=$2; shift 2 ;;
        --packed) FE_ARGS=(--frontend-devargs packed_vq=1); shift ;;
        --async) ASYNC=1; shift ;;
        --peer) PEER=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -u/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) VARIANTS+=("$1"); shift ;;
    esac
done
[ "${#VARIANTS[@]}" -ge 1 ] || die "no variant (see --help)"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "--rounds needs a positive number, not '$ROUNDS'"
[ -x "$PEER" ] || die "no peer script $PEER"
for v in "${VARIANTS[@]}"; do
    [ -f "${v%%@*}" ] || die "no jar ${v%%@*}"
    if [[ "$v" == *@* ]]; then
        opts=${v#*@}
        for o in ${opts//\~/ }; do
            [[ "$o" != JAVA=* ]] || command -v "${o#JAVA=}" >/dev/null || die "no java at ${o#JAVA=} (variant $v)"
        done
    fi
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pvio-ab.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
declare -A RES ROUND
for r in $(seq "$ROUNDS"); do
    for v in "${VARIANTS[@]}"; do
        jar=$(readlink -f "${v%%@*}"); opts="" jvm="" flows="" java=java
        [ "$v" != "${v%%@*}" ] && opts=${v#*@}
        for o in ${opts//\~/ }; do
            case "$o" in
                FLOWS=*) flows=flows:${o#FLOWS=} ;;
                NORMAL=*) flows=normal:${o#NORMAL=} ;;
                JAVA=*) java=${o#JAVA=} ;;
                *) jvm="$jvm $o" ;;
            esac
        done
        rm -f "$WORK/vhu0"
        line=$(PVIO_JAR=$jar BENCH_PEER_ASYNC=$ASYNC BENCH_PEER_FLOWS=$flows BENCH_PEER_JAVA="$java" BENCH_PEER_JAVA_OPTS="$jvm" "$PEER" --frontend-only "$WORK/vhu0" \
            --backend-cmd "exec bash '$HERE/bench-peer.sh' --backend" --label pvio "${FE_ARGS[@]}" --mode "$MODE" \
            --size "$SIZE" --seconds "$SECS" --warmup "$WARMUP" | grep '^peer ' | tail -n1)
        mpps=$(sed -n 's/.* mpps=\([0-9.]*\).*/\1/p' <<<"$line")
        echo "run $r $v ${mpps:-NA}"
        [ -n "$mpps" ] && RES[$v]+="$mpps " && ROUND[$r,$v]=$mpps
    done
done

# stats FORMAT "X Y ...": the numbers' median (in FORMAT), min, max, count and how many are above 1
stats() {
    tr ' ' '\n' <<<"$2" | sed '/^$/d' | sort -g | awk -v fmt="$1" '
        { m[NR] = $1; if ($1 > 1) up++ } END { if (!NR) { print "NA NA NA 0 0"; exit }
        med = (NR % 2) ? m[(NR + 1) / 2] : (m[NR / 2] + m[NR / 2 + 1]) / 2
        printf fmt " %s %s %d %d\n", med, m[1], m[NR], NR, up }'
}

printf '# %s %s B, %s rounds of %s s after %s s; median, range, median / first variant;' "$MODE" "$SIZE" "$ROUNDS" "$SECS" "$WARMUP"
printf ' paired: median of the per-round ratios to the first variant, rounds above it\n'
first=""
for v in "${VARIANTS[@]}"; do
    pairs=""
    for r in $(seq "$ROUNDS"); do
        a=${ROUND[$r,$v]:-} b=${ROUND[$r,${VARIANTS[0]}]:-}
        [ -n "$a" ] && [ -n "$b" ] && pairs+="$(awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.4f", a / b }') "
    done
    read -r pmed _ _ npairs above <<<"$(stats %.2f "$pairs")"
    read -r med lo hi _ _ <<<"$(stats %.3f "${RES[$v]:-}")"
    [ -z "$first" ] && first=$med
    ratio=$(awk -v a="$med" -v b="$first" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.2f", a / b }')
    paired="paired $pmed, above in $above of $npairs"
    [ "$v" = "${VARIANTS[0]}" ] && paired="(first)"
    printf '%-8s %10s  %s-%s  %5s  %-28s %s\n' "$MODE" "$med" "$lo" "$hi" "$ratio" "$paired" "$v"
done

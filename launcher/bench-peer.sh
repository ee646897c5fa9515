#!/usr/bin/env bash
# bench-peer.sh - pvio's vhost-user back end against DPDK's own (net_vhost PMD), with the same front end.
#
# For every direction and size it runs ../shared/peers/dpdk-vhost-peer.sh (beside the project root) twice, alternately:
#   pvio        --frontend-only SOCKET --backend-cmd "<this script> --backend": DPDK testpmd (virtio-user,
#               rxonly for enqueue / txonly for dequeue) against `pvio.jar vswitchd` with one
#               dpdkvhostuser port fed by a pktgen (enqueue) or sinking into a pktgen (dequeue);
#   dpdk-vhost  the peer's own mode: testpmd net_vhost (txonly / rxonly) against the same front end;
# and prints both figures (Mpps, Gbit/s, measured by the front end testpmd) and their ratio.
#
# pvio's side: one PMD thread (other_config:pmd-cpu-mask = 1 << DVHP_BACKEND_CPU, pmd-sleep-max=0), pinned
# with taskset to DVHP_BACKEND_CPU, the CPU the peer script gives DPDK's forwarding lcore; the front end's
# forwarding lcore has the other CPU (see the peer's --help). Everything else of the JVM floats.
#
# Usage: launcher/bench-peer.sh [--size 64,1518] [--mode enqueue,dequeue] [--seconds 5] [--warmup 2]
#                               [--jar launcher/target/pvio.jar] [--peer ../shared/peers/dpdk-vhost-peer.sh]
#                               [--async] [--packed] [--runs N] [--keep-logs] [--no-match-c2c]
#   --async  pvio's vhost port copies with dma-ioat (vhost-async-copy-support=true,
#            vhost-async-attr=(txq0|rxq0,00:04.0,256)); default: CPU copies.
#   --packed the front end asks for packed virtqueues (virtio-user packed_vq=1) from both back ends.
#   --runs N each pair is measured N times, alternately (pvio, dpdk, pvio, dpdk, ...); the table gives the
#            median of each side, its range, the ratio of the medians and each pair's own ratio, marked
#            '*' when the cores' latency moved during the pair even after the last try (default 1).
#   --no-match-c2c  keep every pair as measured (default: a pair is measured again, up to 3 more times,
#            when the cores' latency moved by more than 1.5x during it; see below)
# Host placement: on a VM the one-way cache-line latency between the two vCPUs can change within a minute
# (about 40 ns on near cores, 170 ns across dies here) and with it both back ends' throughput. Before and
# after each measurement `pvio c2c` records it; the table prints it, and a ratio comes from a pair measured
# under the same placement.
# Environment: BENCH_PEER_JAVA_OPTS adds JVM options to pvio's vswitchd (e.g.
#   -XX:StartFlightRecording=filename=/tmp/pvio.jfr,settings=profile to profile pvio's side); BENCH_PEER_JAVA
#   is the java that runs pvio's vswitchd (default: java on the PATH);
#   BENCH_PEER_FLOWS=flows:N or normal:N (enqueue): the pktgen cycles through N source MACs 02:00:<i, 4 bytes>,
#   forwarded by N explicit flows in_port=1,dl_src=MAC_i,actions=output:2 or by one NORMAL flow.
# stdout: the comparison table; stderr: progress (and the peer's). Exit 1 if a measurement failed.
set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
JAR=${PVIO_JAR:-$HERE/target/pvio.jar}
# the peer scripts live in shared/peers/ beside the project's root directory
PEER=${DVHP_PEER:-$(cd "$HERE/../.." && pwd)/shared/peers/dpdk-vhost-peer.sh}

say() { printf '[bench-peer] %s\n' "$*" >&2; }
die() { printf '[bench-peer] ERROR: %s\n' "$*" >&2; exit 2; }

# ------------------------------------------------------------------ back end (run by the peer script)
if [ "${1:-}" = "--backend" ]; then
    : "${DVHP_SOCKET:?} ${DVHP_MODE:?} ${DVHP_SIZE:?} ${DVHP_BACKEND_ROLE:?}"
    CPU=${DVHP_BACKEND_CPU:-1}
    ASYNC=${BENCH_PEER_ASYNC:-0}
    if [ "$DVHP_BACKEND_ROLE" = server ]; then
        # a dpdkvhostuser port listens on <run dir>/<port>: the run dir is the socket's directory
        RUN=$(dirname "$DVHP_SOCKET"); PORT=$(basename "$DVHP_SOCKET")
        VHU_TYPE=(type=dpdkvhostuser)
    else
        RUN=$(mktemp -d "${TMPDIR:-/tmp}/pvio-peer-run.XXXXXX"); PORT=vhu0
        VHU_TYPE=(type=dpdkvhostuserclient "options:vhost-server-path=$DVHP_SOCKET")
    fi
    rm -f "$RUN/conf.db" "$RUN/conf.db.bad"
    # shellcheck disable=SC2086 # BENCH_PEER_JAVA_OPTS: extra JVM options for pvio (e.g. a JFR recording)
    "${BENCH_PEER_JAVA:-java}" ${BENCH_PEER_JAVA_OPTS:-} -jar "$JAR" vswitchd --run-dir "$RUN" &
    JPID=$!
    trap 'kill -TERM $JPID 2>/dev/null; wait $JPID' TERM INT EXIT
    export PVIO_RUN_DIR=$RUN
    P() { java -jar "$JAR" "$@"; }
    for _ in $(seq 300); do [ -S "$RUN/pvio-vswitchd.ctl" ] && P appctl version >/dev/null 2>&1 && break; sleep 0.1; done
    P vsctl set Open_vSwitch . other_config:pmd-cpu-mask="$(printf '0x%x' $((1 << CPU)))" \
        -- set Open_vSwitch . other_config:pmd-sleep-max=0 \
        -- set Open_vSwitch . other_config:vhost-async-copy-support="$([ "$ASYNC" = 1 ] && echo true || echo false)" || exit 1
    P vsctl add-br br0 || exit 1
    P ofctl del-flows br0
    if [ "$DVHP_MODE" = enqueue ]; then
        ATTR=(); [ "$ASYNC" = 1 ] && ATTR=('options:vhost-async-attr="(txq0,00:04.0,256)"')
        # payload=none: headers only, as DPDK's txonly writes them, so that both back ends are fed alike
        # BENCH_PEER_FLOWS=flows:N|normal:N (bench-ab.sh's FLOWS=N / NORMAL=N): N source MACs 02:00:<i>
        FL_OPTS=(); [ -n "${BENCH_PEER_FLOWS:-}" ] && FL_OPTS=(options:src_mac=02:00:00:00:00:00 "options:flows=${BENCH_PEER_FLOWS#*:}")
        P vsctl add-port br0 gen -- set Interface gen type=pktgen "options:size=$DVHP_SIZE" options:payload=none ofport_request=1 \
            "${FL_OPTS[@]}" -- add-port br0 "$PORT" -- set Interface "$PORT" "${VHU_TYPE[@]}" "${ATTR[@]}" ofport_request=2 || exit 1
    else
        ATTR=(); [ "$ASYNC" = 1 ] && ATTR=('options:vhost-async-attr="(rxq0,00:04.0,256)"')
        P vsctl add-port br0 "$PORT" -- set Interface "$PORT" "${VHU_TYPE[@]}" "${ATTR[@]}" ofport_request=1 \
            -- add-port br0 sink -- set Interface sink type=pktgen options:enabled=false ofport_request=2 || exit 1
    fi
    case "${BENCH_PEER_FLOWS:-}" in
        "") P ofctl add-flow br0 in_port=1,actions=output:2 ;;
        flows:*) # one explicit flow per source MAC, as bench-flows.sh's flows mode
            awk -v n="${BENCH_PEER_FLOWS#flows:}" 'BEGIN { for (i = 0; i < n; i++)
                printf "in_port=1,dl_src=02:00:%02x:%02x:%02x:%02x,actions=output:2\n",
                    int(i / 16777216) % 256, int(i / 65536) % 256, int(i / 256) % 256, i % 256 }' >"$RUN/flows.txt"
            P ofctl add-flows br0 "$RUN/flows.txt" || exit 1 ;;
        normal:*) P ofctl add-flow br0 actions=NORMAL ;;
        *) echo "bench-peer: BENCH_PEER_FLOWS=$BENCH_PEER_FLOWS: flows:N or normal:N" >&2; exit 1 ;;
    esac
    # pin the PMD thread (pmd-cNN) to the CPU its mask names
    for t in /proc/$JPID/task/*; do
        [ "$(cat "$t/comm" 2>/dev/null)" = "$(printf 'pmd-c%02d' "$CPU")" ] && taskset -p -c "$CPU" "${t##*/}" >/dev/null \
            && echo "pinned pmd thread ${t##*/} to cpu $CPU"
    done
    wait $JPID
    exit 0
fi

# ------------------------------------------------------------------ driver
SIZES=64,1518
MODES=enqueue,dequeue
SECONDS_ARG=5
WARMUP=2
ASYNC=0
FE_ARGS=()
RUNS=1
MATCH_TRIES=4
KEEP=()
while [ "$#" -gt 0 ]; do
    case "$1" in
        --size|--sizes) SIZES=$2; shift 2 ;;
        --mode|--modes|--direction) MODES=$2; shift 2 ;;
        --seconds) SECONDS_ARG=$2; shift 2 ;;
        --warmup) WARMUP=$2; shift 2 ;;
        --jar) JAR=$2; shift 2 ;;
        --peer) PEER=$2; shift 2 ;;
        --async) ASYNC=1; shift ;;
        --packed) FE_ARGS=(--frontend-devargs packed_vq=1); shift ;;
        --runs) RUNS=$2; shift 2 ;;
        --keep-logs) KEEP=(--keep-logs); shift ;;
        --no-match-c2c) MATCH_TRIES=1; shift ;;
        -h|--help) sed -n '2,/^set -u/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "--runs needs a positive number, not '$RUNS'"
[ -f "$JAR" ] || die "no $JAR: build it with mvn -B -q -o -f launcher/pom.xml install"
[ -x "$PEER" ] || die "no peer script $PEER"
command -v taskset >/dev/null || die "taskset (util-linux) is needed to pin pvio's PMD thread"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pvio-peer.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
SOCK=$WORK/vhu0
export PVIO_JAR=$JAR BENCH_PEER_ASYNC=$ASYNC

declare -A RES C2C PAIRS
FAILED=0
say "pvio ($([ "$ASYNC" = 1 ] && echo "async copies, dma-ioat" || echo "CPU copies")) vs DPDK net_vhost; front end: DPDK virtio-user (testpmd$([ "${#FE_ARGS[@]}" -gt 0 ] && echo ", packed rings")); window ${SECONDS_ARG}s after ${WARMUP}s"
# one-way cache-line latency between the two CPUs the peer uses (pvio c2c), in ns
C2C_CPUS=$( [ "$(nproc)" -ge 3 ] && echo 1,2 || echo 0,1 )
c2c() { taskset -c "$C2C_CPUS" java -jar "$JAR" c2c --samples 3 2>/dev/null | sed -n 's/^c2c_ns=//p'; }

# one side's measurement: sets M_LINE (the peer's result line) and M_C2C ("before,after")
measure() {
    local who=$1 mode=$2 size=$3 args b a
    if [ "$who" = pvio ]; then
        args=(--frontend-only "$SOCK" --backend-cmd "exec bash '$HERE/bench-peer.sh' --backend" --label pvio)
    else
        args=(--label dpdk-vhost)
    fi
    b=$(c2c)
    M_LINE=$("$PEER" "${args[@]}" "${FE_ARGS[@]}" --mode "$mode" --size "$size" --seconds "$SECONDS_ARG" --warmup "$WARMUP" \
        "${KEEP[@]}" | grep '^peer ' | tail -n1)
    a=$(c2c)
    M_C2C="${b:-NA},${a:-NA}"
}

# true when the four latencies (before/after of both sides) are within a factor 1.5: same host placement
same_regime() {
    tr ', ' '\n\n' <<<"$*" | awk 'BEGIN { lo = 1e9; hi = 0 } /^[0-9]/ { if ($1 < lo) lo = $1; if ($1 > hi) hi = $1; n++ }
        END { exit !(n == 4 && hi <= 1.5 * lo) }'
}

for mode in ${MODES//,/ }; do
    for size in ${SIZES//,/ }; do
      for run in $(seq "$RUNS"); do
        for try in $(seq "$MATCH_TRIES"); do
            measure pvio "$mode" "$size"; PL=$M_LINE; PC=$M_C2C
            measure dpdk "$mode" "$size"; DL=$M_LINE; DC=$M_C2C
            if [ -z "$PL" ] || [ -z "$DL" ] || same_regime "$PC $DC" || [ "$try" = "$MATCH_TRIES" ]; then
                break
            fi
            say "$mode $size: the cores' latency changed during the pair (c2c ns pvio $PC, dpdk $DC): pair measured again"
        done
        declare -A M=()
        for who in pvio dpdk; do
            if [ "$who" = pvio ]; then line=$PL; c=$PC; else line=$DL; c=$DC; fi
            if [ -z "$line" ]; then
                say "$who $mode $size: no result"; FAILED=1; continue
            fi
            say "$line c2c_ns=$c"
            mpps=$(sed -n 's/.* mpps=\([0-9.]*\).*/\1/p' <<<"$line")
            gbps=$(sed -n 's/.* gbps=\([0-9.]*\).*/\1/p' <<<"$line")
            RES[$who,$mode,$size]+="$mpps,$gbps "
            C2C[$who,$mode,$size]+="${c//,/\/} "
            M[$who]=$mpps
        done
        if [ -n "${M[pvio]:-}" ] && [ -n "${M[dpdk]:-}" ]; then
            # this pair's own ratio; '*' when its placement did not hold (kept after the last try)
            r=$(awk -v a="${M[pvio]}" -v b="${M[dpdk]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
            same_regime "$PC $DC" || [ "$MATCH_TRIES" = 1 ] || r="$r*"
            PAIRS[$mode,$size]+="$r "
        fi
      done
    done
done

# median (Mpps, Gbit/s; the mean of the two middle runs when their number is even) and range of one
# side's runs: "mpps gbps min max"
median() {
    [ -n "$1" ] || { echo "NA NA NA NA"; return; }
    tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -t, -k1,1g | awk -F, '
        { m[NR] = $1; g[NR] = $2 }
        END {
            if (NR % 2) { k = (NR + 1) / 2; mm = m[k]; gg = g[k] }
            else { k = NR / 2; mm = sprintf("%.3f", (m[k] + m[k + 1]) / 2); gg = sprintf("%.3f", (g[k] + g[k + 1]) / 2) }
            printf "%s %s %s %s\n", mm, gg, m[1], m[NR]
        }'
}

if [ "$RUNS" = 1 ]; then
    printf '%-8s %5s %10s %10s %10s %10s %7s   %s\n' direction size pvio_Mpps pvio_Gbps dpdk_Mpps dpdk_Gbps ratio \
        "c2c ns before/after (pvio; dpdk)"
else
    printf '%-8s %5s %10s %10s %10s %10s %7s   %s\n' direction size pvio_Mpps pvio_Gbps dpdk_Mpps dpdk_Gbps ratio \
        "(medians of $RUNS alternate runs; each pair's ratio, * = placement changed; pvio range, dpdk range; c2c ns before/after per run)"
fi
for mode in ${MODES//,/ }; do
    for size in ${SIZES//,/ }; do
        read -r pm pg pmin pmax <<<"$(median "${RES[pvio,$mode,$size]:-}")"
        read -r dm dg dmin dmax <<<"$(median "${RES[dpdk,$mode,$size]:-}")"
        ratio=$(awk -v a="$pm" -v b="$dm" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.2f", a / b }')
        pc=${C2C[pvio,$mode,$size]:-}; dc=${C2C[dpdk,$mode,$size]:-}
        if [ "$RUNS" = 1 ]; then
            printf '%-8s %5s %10s %10s %10s %10s %7s   %s; %s\n' "$mode" "$size" "$pm" "$pg" "$dm" "$dg" "$ratio" \
                "${pc% }" "${dc% }"
        else
            pr=${PAIRS[$mode,$size]:-}
            printf '%-8s %5s %10s %10s %10s %10s %7s   pairs %s; pvio %s-%s, dpdk %s-%s; c2c pvio %s; dpdk %s\n' \
                "$mode" "$size" "$pm" "$pg" "$dm" "$dg" "$ratio" "${pr% }" "$pmin" "$pmax" "$dmin" "$dmax" "${pc% }" \
                "${dc% }"
        fi
    done
done
exit $FAILED

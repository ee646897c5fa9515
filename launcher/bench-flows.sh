#!/usr/bin/env bash
# bench-flows.sh - many flows through pvio and OVS-DPDK (issue 21): the rate with 1, 1,000 and 100,000
# distinct MAC pairs, through explicit flows and through NORMAL (MAC learning), alternately on both switches.
#
# Topology (the same for both switches): one DPDK testpmd (the "guests") with four ports, io forwarding,
# paired topology (0<->1, 2<->3), one forwarding lcore:
#   port 0 net_pcap, replays fwd.pcap forever (infinite_rx): frame i is A_i -> B_i
#   port 1 net_virtio_user0 (server) <== switch port 1 (vhu0, dpdkvhostuserclient)
#   port 2 net_virtio_user1 (server) <== switch port 2 (vhu1, dpdkvhostuserclient)
#   port 3 net_pcap, replays rev.pcap forever: frame i is B_i -> A_i
# so pcap0 -> vhu0 -> switch -> vhu1 -> port 2 -> (pcap1, drops on tx) and pcap1 -> vhu1 -> switch -> vhu0 ->
# port 1 -> (pcap0, drops). A_i = 02:00:<i as 4 bytes>, B_i = 02:01:<i>; 60-byte frames (64 with CRC),
# IPv4/UDP. The pcap ports offer more than either switch forwards; the figure is what the switch forwards:
# RX packets of ports 1 and 2 together (testpmd's counters) per second over --seconds after --warmup.
#
# Modes:
#   flows   2N explicit flows, in_port=1,dl_src=A_i,dl_dst=B_i,actions=output:2 and the reverse
#           (pvio: `pvio ofctl add-flows`; OVS: `ovs-ofctl add-flows`), nothing else in the table
#   normal  one flow, actions=NORMAL: MAC learning; both switches keep their default MAC table size (2048)
#
# Switches: OVS-DPDK (Debian's ovs-vswitchd-dpdk, private directory, no hugepages, as
# ../shared/peers/ovs-dpdk-v2v.sh runs it) and pvio (java -jar pvio.jar vswitchd), each with one PMD on the
# switch CPU and CPU copies; testpmd's forwarding lcore on the other CPU. The bridge is called bfl0 (the
# netdev datapath of both makes a host tap of that name; unique to this script).
#
# Usage: bench-flows.sh [--flows 1,1000,100000] [--modes flows,normal] [--sides ovs,pvio] [--runs 3]
#                       [--seconds 5] [--warmup 3] [--jar PATH] [--cpus SW,FWD] [--ovs-mem MB] [--keep-logs]
# stdout: "flows-run side=... mode=... flows=N run=K mpps=... other_load_pct=... pmd_cpu_pct=... fwd_cpu_pct=...
# pmd_idle_pct=... emc_hits=..." (pmd-stats-show's counters, cleared when the window starts: the window's)
# per run, then a table ('#' lines) of the medians and each mode's rate against its own 1-flow rate.
# Each run also saves the switch's `dpif-netdev/pmd-stats-show` in the work directory (--keep-logs).
# Requirements: root, dpdk-testpmd with net_pcap (Debian's dpdk), openvswitch-switch-dpdk for the ovs side,
# python3 (writes the pcap files), java 17 and pvio.jar for the pvio side.
set -u -o pipefail

say()  { printf '[flows] %s\n' "$*" >&2; }
die()  { printf '[flows] ERROR: %s\n' "$*" >&2; exit 2; }

OVS_VSWITCHD_DPDK=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
OVS_SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
FLOWS_ARG=1,1000,100000
MODES_ARG=flows,normal
SIDES_ARG=ovs,pvio
RUNS=3
WINDOW=5
WARMUP=3
JAR=${PVIO_JAR:-}
CPUS_ARG=""
OVS_MEM=2048
TP_MEM=1024
KEEP_LOGS=0
BR=bfl0

is_uint() { case "$1" in ''|*[!0-9]*) return 1 ;; *) return 0 ;; esac; }
while [ "$#" -gt 0 ]; do
    case "$1" in
        --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;;
    esac
    [ "$1" = -h ] || [ "$1" = --help ] || [ "$1" = --keep-logs ] || [ "$#" -ge 2 ] || die "option $1 needs a value"
    case "$1" in
        -h|--help) sed -n '2,/^set -u/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
        --flows) FLOWS_ARG=$2; shift 2 ;;
        --modes|--mode) MODES_ARG=$2; shift 2 ;;
        --sides|--side) SIDES_ARG=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --seconds) WINDOW=$2; shift 2 ;;
        --warmup) WARMUP=$2; shift 2 ;;
        --jar) JAR=$2; shift 2 ;;
        --cpus) CPUS_ARG=$2; shift 2 ;;
        --ovs-mem) OVS_MEM=$2; shift 2 ;;
        --keep-logs) KEEP_LOGS=1; shift ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
done
for v in RUNS WINDOW WARMUP OVS_MEM; do is_uint "${!v}" && [ "${!v}" -ge 1 ] || die "$v must be a positive integer"; done
NFLOWS=(); for n in ${FLOWS_ARG//,/ }; do is_uint "$n" && [ "$n" -ge 1 ] && [ "$n" -le 1000000 ] || die "bad --flows '$n'"; NFLOWS+=("$n"); done
MODES=(); for m in ${MODES_ARG//,/ }; do case "$m" in flows|normal) MODES+=("$m") ;; *) die "bad mode '$m'" ;; esac; done
SIDES=(); for s in ${SIDES_ARG//,/ }; do case "$s" in ovs|pvio) SIDES+=("$s") ;; *) die "bad side '$s'" ;; esac; done
[ "$(id -u)" -eq 0 ] || die "run as root (DPDK's runtime directory)"
TESTPMD=$(command -v dpdk-testpmd) || die "dpdk-testpmd is needed (apt-get install dpdk)"
command -v python3 >/dev/null || die "python3 is needed"
for s in "${SIDES[@]}"; do
    if [ "$s" = ovs ]; then
        [ -x "$OVS_VSWITCHD_DPDK" ] && [ -f "$OVS_SCHEMA" ] || die "no $OVS_VSWITCHD_DPDK (apt-get install openvswitch-switch-dpdk)"
    else
        [ -n "$JAR" ] || JAR=launcher/target/pvio.jar
        [ -f "$JAR" ] || die "no pvio.jar at '$JAR' (--jar PATH)"
        JAR=$(cd "$(dirname "$JAR")" && pwd)/$(basename "$JAR")
    fi
done

mapfile -t CPUS < <(awk '/^Cpus_allowed_list:/ {print $2}' /proc/self/status | tr ',' '\n' \
    | awk -F- '{ if (NF == 2) for (i = $1; i <= $2; i++) print i; else print $1 }')
if [ -n "$CPUS_ARG" ]; then SW_CPU=${CPUS_ARG%%,*}; FWD_CPU=${CPUS_ARG#*,}; else SW_CPU=${CPUS[0]}; FWD_CPU=${CPUS[1]:-}; fi
is_uint "$SW_CPU" && is_uint "$FWD_CPU" && [ "$SW_CPU" != "$FWD_CPU" ] || die "two CPUs are needed (--cpus SW,FWD)"
NCPU=$(grep -c '^cpu[0-9]' /proc/stat)
SW_MASK=$(printf '0x%x' $((1 << SW_CPU)))
PMD_COMM=$(printf 'pmd-c%02d' "$SW_CPU")

TAG="bflows$$"
WORK=$(mktemp -d "/tmp/$TAG.XXXXXX") || die "mktemp failed"
PIDS=(); PREFIXES=()
PDEATH=(setpriv --pdeathsig TERM --)
running() { kill -0 "$1" 2>/dev/null && [ "$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
stop_pid() {
    local pid=$1 i
    [ -n "$pid" ] || return 0
    if running "$pid"; then
        kill -TERM "$pid" 2>/dev/null
        for ((i = 0; i < 200; i++)); do running "$pid" || break; sleep 0.1; done
        running "$pid" && kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    local keep=() p; for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done; PIDS=("${keep[@]}")
}
cleanup() {
    local i p
    [ -n "${TP_FD:-}" ] && exec {TP_FD}>&- 2>/dev/null
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
    for p in "${PREFIXES[@]}"; do rm -rf -- "/var/run/dpdk/${p:?}"; done
    if [ "$KEEP_LOGS" = 1 ]; then say "logs kept in $WORK"; else rm -rf -- "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
wait_for() {  # timeout_s what cmd...
    local end=$((SECONDS + $1)) what=$2 r
    shift 2
    while :; do
        "$@"; r=$?
        [ "$r" = 0 ] && return 0
        [ "$r" = 2 ] && { say "gave up waiting for $what"; return 1; }
        [ "$SECONDS" -ge "$end" ] && { say "timed out waiting for $what"; return 1; }
        sleep 0.2
    done
}
alive() { kill -0 "$1" 2>/dev/null; }
find_tid() { local t; for t in /proc/"$1"/task/*; do case "$(cat "$t/comm" 2>/dev/null)" in "$2"*) echo "${t##*/}"; return 0 ;; esac; done; return 1; }
jiffies() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "$1" 2>/dev/null || echo 0; }
# "total busy ours pmd fwd" in jiffies
cpu_snap() {
    local _c u n s idle iow irq sirq st _r ours=0 p
    read -r _c u n s idle iow irq sirq st _r < /proc/stat
    for p in "${OURS[@]}"; do ours=$((ours + $(jiffies "/proc/$p/stat"))); done
    echo "$((u + n + s + idle + iow + irq + sirq + st)) $((u + n + s + irq + sirq)) $ours" \
        "$(jiffies "/proc/$SW_PID/task/${PMD_TID:-0}/stat") $(jiffies "/proc/$TP_PID/task/${FWD_TID:-0}/stat")"
}
cpu_delta() {  # "other_pct pmd_pct fwd_pct" (% of one CPU)
    echo "$1 $2" | awk -v n="$NCPU" '{ dt = ($6 - $1) / n; if (dt <= 0) { print "NA NA NA"; exit }
        o = ($7 - $2) - ($8 - $3); if (o < 0) o = 0
        printf "%.0f %.0f %.0f\n", o / dt * 100, ($9 - $4) / dt * 100, ($10 - $5) / dt * 100 }'
}

# ------------------------------------------------------------------ traffic and flow files
mkpcap() {  # file n fwd|rev
    python3 - "$@" <<'EOF'
import struct, sys
out, n, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def mac(side, i): return bytes([0x02, side, (i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255])
ip = bytearray(struct.pack('!BBHHHBBH4s4s', 0x45, 0, 46, 0, 0, 64, 17, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])))
c = sum(struct.unpack('!10H', bytes(ip))); c = (c & 0xffff) + (c >> 16); c = (c & 0xffff) + (c >> 16)
ip[10:12] = struct.pack('!H', ~c & 0xffff)
tail = b'\x08\x00' + bytes(ip) + struct.pack('!HHHH', 1024, 1024, 26, 0) + bytes(18)
with open(out, 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(n):
        a, b = mac(0, i), mac(1, i)
        fr = (b + a if d == 'fwd' else a + b) + tail
        f.write(struct.pack('<IIII', 0, 0, len(fr), len(fr)) + fr)
EOF
}
mkflows() {  # file n
    awk -v n="$2" 'function m(s, i) { return sprintf("02:%02x:%02x:%02x:%02x:%02x", s, int(i / 16777216) % 256,
            int(i / 65536) % 256, int(i / 256) % 256, i % 256) }
        BEGIN { for (i = 0; i < n; i++) {
            printf "in_port=1,dl_src=%s,dl_dst=%s,actions=output:2\n", m(0, i), m(1, i)
            printf "in_port=2,dl_src=%s,dl_dst=%s,actions=output:1\n", m(1, i), m(0, i) } }' > "$1"
}

# ------------------------------------------------------------------ switches
OVS() { ovs-vsctl --db="unix:$RUN/db.sock" --timeout=120 "$@"; }
start_ovs() {
    export OVS_RUNDIR=$RUN OVS_DBDIR=$RUN OVS_LOGDIR=$RUN OVS_SYSCONFDIR=$RUN OVS_PKGDATADIR=/usr/share/openvswitch
    ovsdb-tool create "$RUN/conf.db" "$OVS_SCHEMA" || return 1
    "${PDEATH[@]}" ovsdb-server "$RUN/conf.db" --remote="punix:$RUN/db.sock" --pidfile="$RUN/ovsdb-server.pid" \
        --unixctl="$RUN/ovsdb-server.ctl" --log-file="$RUN/ovsdb-server.log" </dev/null >"$RUN/ovsdb-server.out" 2>&1 &
    DB_PID=$!; PIDS+=("$DB_PID")
    wait_for 30 ovsdb-server test -S "$RUN/db.sock" || return 1
    OVS --no-wait init -- set Open_vSwitch . other_config:dpdk-init=true \
        "other_config:dpdk-extra=--no-huge -m $OVS_MEM --no-pci --legacy-mem --no-telemetry --file-prefix=$PREFIX_SW" \
        other_config:pmd-cpu-mask="$SW_MASK" || return 1
    PREFIXES+=("$PREFIX_SW")
    "${PDEATH[@]}" "$OVS_VSWITCHD_DPDK" "unix:$RUN/db.sock" --pidfile="$RUN/ovs-vswitchd.pid" \
        --unixctl="$RUN/ovs-vswitchd.ctl" --log-file="$RUN/ovs-vswitchd.log" </dev/null >"$RUN/ovs-vswitchd.out" 2>&1 &
    SW_PID=$!; PIDS+=("$SW_PID")
    wait_for 120 "ovs-vswitchd (DPDK init)" ovs_started || return 1
    OVS add-br $BR -- set Bridge $BR datapath_type=netdev \
        -- add-port $BR vhu0 -- set Interface vhu0 type=dpdkvhostuserclient "options:vhost-server-path=$S0" ofport_request=1 \
        -- add-port $BR vhu1 -- set Interface vhu1 type=dpdkvhostuserclient "options:vhost-server-path=$S1" ofport_request=2 \
        || return 1
    ovs-ofctl del-flows "unix:$RUN/$BR.mgmt" || return 1
    if [ "$MODE" = flows ]; then
        ovs-ofctl add-flows "unix:$RUN/$BR.mgmt" "$FLOWFILE" || return 1
    else
        ovs-ofctl add-flow "unix:$RUN/$BR.mgmt" actions=NORMAL || return 1
    fi
}
ovs_started() {
    alive "$SW_PID" || return 2
    [ "$(OVS get Open_vSwitch . dpdk_initialized 2>/dev/null)" = true ] && [ -S "$RUN/ovs-vswitchd.ctl" ]
}
ports_up_ovs() { alive "$SW_PID" || return 2; [ "$(OVS get Interface vhu0 link_state 2>/dev/null) $(OVS get Interface vhu1 link_state 2>/dev/null)" = "up up" ]; }
pmd_stats_ovs() { ovs-appctl -t "$RUN/ovs-vswitchd.ctl" dpif-netdev/pmd-stats-show; }
pmd_clear_ovs() { ovs-appctl -t "$RUN/ovs-vswitchd.ctl" dpif-netdev/pmd-stats-clear >/dev/null; }
nflows_ovs() { ovs-ofctl dump-aggregate "unix:$RUN/$BR.mgmt" | sed -n 's/.*flow_count=\([0-9]*\).*/\1/p'; }
stop_ovs() { stop_pid "$SW_PID"; stop_pid "$DB_PID"; unset OVS_RUNDIR OVS_DBDIR OVS_LOGDIR OVS_SYSCONFDIR OVS_PKGDATADIR; }

PV() { java -jar "$JAR" "$1" --run-dir "$RUN" "${@:2}"; }
start_pvio() {
    "${PDEATH[@]}" java ${PVIO_JAVA_OPTS:-} -jar "$JAR" vswitchd --run-dir "$RUN" </dev/null >"$RUN/vswitchd.out" 2>&1 &
    SW_PID=$!; PIDS+=("$SW_PID")
    wait_for 120 "pvio vswitchd" pvio_started || return 1
    PV vsctl set Open_vSwitch . other_config:pmd-cpu-mask="$SW_MASK" -- set Open_vSwitch . other_config:pmd-sleep-max=0 \
        -- set Open_vSwitch . other_config:vhost-async-copy-support=false -- add-br $BR \
        -- add-port $BR vhu0 -- set Interface vhu0 type=dpdkvhostuserclient "options:vhost-server-path=$S0" ofport_request=1 \
        -- add-port $BR vhu1 -- set Interface vhu1 type=dpdkvhostuserclient "options:vhost-server-path=$S1" ofport_request=2 \
        || return 1
    PV ofctl del-flows $BR || return 1
    if [ "$MODE" = flows ]; then
        PV ofctl add-flows $BR "$FLOWFILE" || return 1
    else
        PV ofctl add-flow $BR actions=NORMAL || return 1
    fi
}
pvio_started() { alive "$SW_PID" || return 2; [ -S "$RUN/pvio-vswitchd.ctl" ] && PV appctl version >/dev/null 2>&1; }
ports_up_pvio() { alive "$SW_PID" || return 2; [ "$(PV vsctl get Interface vhu0 link_state -- get Interface vhu1 link_state 2>/dev/null | tr '\n' ' ')" = "up up " ]; }
pmd_stats_pvio() { PV appctl dpif-netdev/pmd-stats-show; }
pmd_clear_pvio() { PV appctl dpif-netdev/pmd-stats-clear >/dev/null; }
nflows_pvio() { PV ofctl dump-flows $BR | grep -c 'actions='; }
stop_pvio() { stop_pid "$SW_PID"; }

# ------------------------------------------------------------------ the guests: one testpmd, four ports
start_guest() {
    PREFIXES+=("$PREFIX_TP")
    TP_LOG=$RUN/testpmd.log
    mkfifo "$RUN/tp.in" || return 1
    exec {TP_FD}<>"$RUN/tp.in"
    # the pcap ports keep every frame of their file in mbufs of the one pool: 2N of them, plus the rings'
    local mem=$(( TP_MEM > (2 * NPAIR + 65536) * 3 / 1024 + 512 ? TP_MEM : (2 * NPAIR + 65536) * 3 / 1024 + 512 ))
    "${PDEATH[@]}" stdbuf -oL -eL "$TESTPMD" --lcores "0@$SW_CPU,1@$FWD_CPU" --no-pci --no-huge -m "$mem" \
        --no-telemetry --file-prefix="$PREFIX_TP" \
        --vdev "net_pcap0,rx_pcap=$PCAP_FWD,infinite_rx=1" \
        --vdev "net_virtio_user0,path=$S0,server=1,queues=1,queue_size=1024" \
        --vdev "net_virtio_user1,path=$S1,server=1,queues=1,queue_size=1024" \
        --vdev "net_pcap1,rx_pcap=$PCAP_REV,infinite_rx=1" \
        -- -i --total-num-mbufs=$((2 * NPAIR + 65536)) --nb-cores=1 --rxq=1 --txq=1 --rxd=1024 --txd=1024 \
        --burst=32 --forward-mode=io --port-topology=paired <&"$TP_FD" >"$TP_LOG" 2>&1 &
    TP_PID=$!; PIDS+=("$TP_PID")
}
guest_ready() { alive "$TP_PID" || return 2; grep -aqE 'EAL: Error|Cause:|Fail to start port' "$TP_LOG" && return 2; grep -aq 'testpmd> ' "$TP_LOG"; }
tp_cmd() { printf '%s\n' "$1" >&"$TP_FD"; }
# RX packets of ports 1 and 2 in the n-th "show port stats all" block
rx12() { awk -v want="$1" '/NIC statistics for port/ { p = $6 + 0 } /RX-packets:/ && /RX-missed:/ { if (p == 0) b++; if (b == want && (p == 1 || p == 2)) s += $2 } END { print s + 0 }' "$TP_LOG"; }
nblocks() { grep -ac 'NIC statistics for port 3' "$TP_LOG"; }

run_one() {  # side mode n -> R_MPPS, R_LINE
    local side=$1 rc=0 snap0 snap1 t0 t1 r0 r1 load pmdc fwdc
    MODE=$2; NPAIR=$3
    RUN=$(mktemp -d "$WORK/$side-$MODE-$NPAIR.XXXX"); S0=$RUN/s0.sock; S1=$RUN/s1.sock
    PREFIX_SW="$TAG-sw-${RUN##*.}"; PREFIX_TP="$TAG-tp-${RUN##*.}"
    SW_PID=""; DB_PID=""; TP_PID=""; PMD_TID=""; FWD_TID=""; OURS=(); R_MPPS=""; R_LINE=""
    PCAP_FWD=$WORK/fwd-$NPAIR.pcap; PCAP_REV=$WORK/rev-$NPAIR.pcap; FLOWFILE=$WORK/flows-$NPAIR.txt
    say "$side $MODE flows=$NPAIR: starting"
    "start_$side" || { say "$side did not start; its log:"; tail -n 15 "$RUN"/*vswitchd*.log "$RUN"/*.out 2>/dev/null >&2; rc=1; }
    [ "$rc" = 0 ] && { start_guest; wait_for 120 "testpmd" guest_ready || { tail -n 15 "$TP_LOG" >&2; rc=1; }; }
    [ "$rc" = 0 ] && { wait_for 120 "the switch's ports" "ports_up_$side" || rc=1; }
    if [ "$rc" = 0 ]; then
        PMD_TID=$(find_tid "$SW_PID" "$PMD_COMM"); [ -n "$PMD_TID" ] || say "$side: no thread $PMD_COMM"
        [ "$side" = pvio ] && [ -n "$PMD_TID" ] && taskset -p -c "$SW_CPU" "$PMD_TID" >/dev/null
        FWD_TID=$(find_tid "$TP_PID" rte-worker || find_tid "$TP_PID" lcore-worker || find_tid "$TP_PID" dpdk-worker)
        OURS=("$SW_PID" "$TP_PID" ${DB_PID:+"$DB_PID"})
        R_NFLOWS=$("nflows_$side")
        tp_cmd start
        wait_for 20 "testpmd to start forwarding" grep -aq 'io packet forwarding - ports=4' "$TP_LOG" \
            || { tail -n 15 "$TP_LOG" >&2; rc=1; }
        sleep "$WARMUP"
        tp_cmd "show port stats all"; wait_for 10 "stats" bash -c "[ \$(grep -ac 'NIC statistics for port 3' '$TP_LOG') -ge 1 ]" || rc=1
        "pmd_clear_$side" || say "$side: pmd-stats-clear failed (pmd_idle_pct covers the whole run)"
        t0=$EPOCHREALTIME; snap0=$(cpu_snap)
        sleep "$WINDOW"
        tp_cmd "show port stats all"; wait_for 10 "stats" bash -c "[ \$(grep -ac 'NIC statistics for port 3' '$TP_LOG') -ge 2 ]" || rc=1
        t1=$EPOCHREALTIME; snap1=$(cpu_snap)
        "pmd_stats_$side" > "$RUN/pmd-stats-show.txt" 2>&1
        tp_cmd stop
        sleep 0.5
    fi
    [ -n "$TP_PID" ] && { tp_cmd quit; sleep 1; stop_pid "$TP_PID"; exec {TP_FD}>&-; TP_FD=""; }
    "stop_$side"
    rm -rf -- "/var/run/dpdk/$PREFIX_SW" "/var/run/dpdk/$PREFIX_TP" "$RUN/felix-cache"
    [ "$rc" = 0 ] || return 1
    r0=$(rx12 1); r1=$(rx12 2)
    R_MPPS=$(awk -v a="$r0" -v b="$r1" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.3f", (b - a) / (t1 - t0) / 1e6 }')
    read -r load pmdc fwdc <<<"$(cpu_delta "$snap0" "$snap1")"
    R_LOAD=$load
    local hits
    hits=$(grep -E 'emc hits|smc hits|megaflow hits|packets received' "$RUN/pmd-stats-show.txt" | sed 's/^ *//; s/: /=/; s/ /_/g' | tr '\n' ' ')
    # the window's idle share of the switch's PMD: above a few % the generator, not the switch, set the rate
    R_IDLE=$(sed -n 's/^ *idle cycles: [0-9]* (\([0-9.]*\)%).*/\1/p' "$RUN/pmd-stats-show.txt" | head -n1)
    R_IDLE=${R_IDLE:-NA}
    R_LINE="side=$side mode=$MODE flows=$NPAIR table_flows=${R_NFLOWS:-NA} mpps=$R_MPPS other_load_pct=$load pmd_cpu_pct=$pmdc fwd_cpu_pct=$fwdc pmd_idle_pct=$R_IDLE $hits"
    [ "$KEEP_LOGS" = 1 ] && cp "$RUN/pmd-stats-show.txt" "$WORK/pmd-stats-$side-$MODE-$NPAIR-$(date +%H%M%S).txt"
    return 0
}

say "OVS $(dpkg-query -W -f='${Version}' openvswitch-switch-dpdk 2>/dev/null), DPDK $(dpkg-query -W -f='${Version}' dpdk 2>/dev/null), pvio ${JAR:-not used}"
say "switch PMD on cpu $SW_CPU, testpmd forwarding on cpu $FWD_CPU; flows ${NFLOWS[*]}; modes ${MODES[*]}; sides ${SIDES[*]}; $RUNS runs; ${WINDOW}s after ${WARMUP}s"
say "load average before start: $(cut -d' ' -f1-3 /proc/loadavg)"
for n in "${NFLOWS[@]}"; do
    mkpcap "$WORK/fwd-$n.pcap" "$n" fwd && mkpcap "$WORK/rev-$n.pcap" "$n" rev && mkflows "$WORK/flows-$n.txt" "$n" \
        || die "could not write the traffic files for $n flows"
done
declare -A RES LOADS IDLES
FAILED=0
for mode in "${MODES[@]}"; do
    for n in "${NFLOWS[@]}"; do
        for ((run = 1; run <= RUNS; run++)); do
            for side in "${SIDES[@]}"; do
                if run_one "$side" "$mode" "$n" || run_one "$side" "$mode" "$n"; then
                    printf 'flows-run run=%s %s\n' "$run" "$R_LINE"
                    say "   $R_LINE"
                    RES[$side,$mode,$n]+="$R_MPPS "
                    LOADS[$side,$mode,$n]+="$R_LOAD "
                    IDLES[$side,$mode,$n]+="$R_IDLE "
                else
                    say "$side $mode flows=$n run $run failed"; FAILED=1
                fi
            done
        done
    done
done
median() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{ a[NR] = $1 } END { if (!NR) print "NA"; else if (NR % 2) printf "%.3f\n", a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
printf '# %-6s %-6s %8s %10s %9s  %-24s %-22s %s\n' mode side flows median_Mpps vs_1flow "runs (Mpps)" "other load % per run" \
    "PMD idle % per run"
for mode in "${MODES[@]}"; do
    for side in "${SIDES[@]}"; do
        base=$(median "${RES[$side,$mode,${NFLOWS[0]}]:-}")
        for n in "${NFLOWS[@]}"; do
            m=$(median "${RES[$side,$mode,$n]:-}")
            printf '# %-6s %-6s %8s %10s %9s  %-24s %-22s %s\n' "$mode" "$side" "$n" "$m" \
                "$(awk -v a="$m" -v b="$base" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.2f", a / b }')" \
                "$(sed 's/ *$//; s/ /,/g' <<<"${RES[$side,$mode,$n]:-}")" "$(sed 's/ *$//; s/ /,/g' <<<"${LOADS[$side,$mode,$n]:-}")" \
                "$(sed 's/ *$//; s/ /,/g' <<<"${IDLES[$side,$mode,$n]:-}")"
        done
    done
done
printf '# Mpps = frames the switch forwarded (both directions, 64 B) counted at testpmd; vs_1flow = median / the median with %s flow(s)\n' "${NFLOWS[0]}"
echo "# PMD idle % = the switch PMD's idle cycles in the window (pmd-stats-clear, then pmd-stats-show): near 0, the switch"
echo "# set the rate; well above, testpmd's pcap replay did"
exit $FAILED

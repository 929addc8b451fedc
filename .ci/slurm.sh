#!/usr/bin/env bash
# Throw-away single-node SLURM "cluster" for CI and local testing.
#
#   .ci/slurm.sh install          apt-get install slurm-wlm + munge (idempotent, quiet)
#   .ci/slurm.sh start  DIR       write DIR/slurm.conf, start munged, slurmctld, slurmd
#                                 (as root, in the background), wait until the node is
#                                 idle, write DIR/pids and DIR/env
#   .ci/slurm.sh stop   DIR       cancel this cluster's jobs, kill exactly the pids in
#                                 DIR/pids, wait for them to exit
#   .ci/slurm.sh status [DIR]     show daemons and `sinfo` (DIR defaults to the
#                                 directory of $SLURM_CONF)
#   .ci/slurm.sh logs   DIR       tails of the daemons' logs (DIR/log/*)
#
# Everything (config, munge key and socket, state, spool, logs, pid files) lives in DIR,
# the daemons use no cgroups (proctrack/linuxproc, task/none), no accounting database
# (sacct is therefore not useful: query job state with squeue, MinJobAge is large), and
# listen on loopback only.  Clients find the cluster through SLURM_CONF:
#
#   eval "$(.ci/slurm.sh start /tmp/slurm)"     # or: . /tmp/slurm/env
#   sbatch --wrap hostname
#
# snakemake-executor-plugin-slurm-jobstep (0.6.1) strips every SLURM_* variable, SLURM_CONF
# included, before it calls `srun` inside the batch job, so that inner srun only finds
# the default /etc/slurm/slurm.conf.  `start` therefore symlinks
# /etc/slurm/slurm.conf -> DIR/slurm.conf if that path is free (absent, or a symlink
# left by an earlier run of this script whose cluster is gone) and refuses to start
# otherwise -- so only one such cluster runs per machine; `stop` removes the link
# again.  SLURM_CI_LINK_ETC=0 disables this.
#
# Tunables (environment): SLURM_CI_CPUS (default: nproc), SLURM_CI_MEM_MARGIN_MB
# (memory kept back from the node, default 512), SLURM_CI_PORT (first of two TCP ports,
# default 6817, the next free pair is used), SLURM_CI_TIMEOUT (seconds to wait for the
# node to become idle, default 60).
set -euo pipefail

PROG=$(basename "$0")

die() { echo "$PROG: error: $*" >&2; exit 1; }
log() { echo "$PROG: $*" >&2; }

need_root() { [ "$(id -u)" = 0 ] || die "$1 must run as root (the daemons run as root)"; }

abspath() { mkdir -p "$1" && (cd "$1" && pwd -P); }

# ---------------------------------------------------------------------------- install
cmd_install() {
    local missing=()
    for b in munged slurmctld slurmd sbatch squeue sinfo scontrol srun; do
        command -v "$b" >/dev/null 2>&1 || missing+=("$b")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        log "slurm and munge already installed ($(slurmctld -V 2>/dev/null || true))"
        return 0
    fi
    need_root install
    log "installing slurm-wlm and munge (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # policy-rc.d in containers stops the packages' own service start; that is what we
    # want: the daemons are started by `start DIR` with a private configuration.
    apt-get install -y -qq --no-install-recommends slurm-wlm munge procps >/dev/null
    log "installed $(slurmctld -V)"
}

# ---------------------------------------------------------------------------- helpers
port_in_use() {  # port_in_use PORT -> 0 if something listens on 127.0.0.1:PORT
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_ports() {  # echo two consecutive free ports starting at $SLURM_CI_PORT
    local p=${SLURM_CI_PORT:-6817} last
    last=$((p + 200))
    while [ "$p" -lt "$last" ]; do
        if ! port_in_use "$p" && ! port_in_use $((p + 1)); then
            echo "$p $((p + 1))"
            return 0
        fi
        p=$((p + 2))
    done
    die "no two free TCP ports found in ${SLURM_CI_PORT:-6817}..$last"
}

real_memory_mb() {  # usable memory for the node: min(free -m total, cgroup limit) - margin
    local total limit margin=${SLURM_CI_MEM_MARGIN_MB:-512}
    total=$(free -m | awk '/^Mem:/ {print $2}')
    for f in /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes; do
        if [ -r "$f" ]; then
            limit=$(cat "$f")
            if [ "$limit" != max ] && [ "$limit" -lt $((total * 1048576)) ] 2>/dev/null; then
                total=$((limit / 1048576))
            fi
        fi
    done
    local mem=$((total - margin))
    [ "$mem" -ge 256 ] || mem=$((total * 3 / 4))
    echo "$mem"
}

pid_alive() {  # alive and not a zombie (the daemons are not our children once we exit)
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ "$state" != Z ]
}

# a pid from DIR/pids is ours only if it is alive and its command line mentions DIR
# (protects against pid reuse after a reboot or a crash)
pid_is_ours() {
    local pid=$1 dir=$2
    pid_alive "$pid" || return 1
    [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$dir"
}

tail_logs() {
    local dir=$1 f
    for f in "$dir"/log/munged.log "$dir"/log/slurmctld.log "$dir"/log/slurmd.log \
             "$dir"/log/*.out; do
        [ -e "$f" ] || continue
        echo "----- tail -n 30 $f" >&2
        tail -n 30 "$f" >&2 || true
    done
}

node_state() {  # state of the single node, e.g. idle, down*, drain, mix, alloc
    sinfo -h -N -n localhost -o '%t' 2>/dev/null | head -n 1
}

write_conf() {
    local dir=$1 ctld_port=$2 slurmd_port=$3 cpus=$4 mem=$5
    cat >"$dir/slurm.conf" <<EOF
# generated by .ci/slurm.sh start $dir -- single-node test cluster, no cgroups,
# no accounting; everything lives in $dir
ClusterName=snakedrizzle-ci
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
# listen on the addresses of SlurmctldHost / NodeAddr (loopback) instead of INADDR_ANY
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket.2
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# keep finished jobs visible to squeue for an hour: the snakemake slurm executor
# polls with squeue because there is no accounting database for sacct
MinJobAge=3600
ReturnToService=2
SlurmdParameters=config_overrides
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$dir/plugstack.conf
InactiveLimit=0
KillWait=5
Waittime=0
NodeName=localhost NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
    : >"$dir/plugstack.conf"
}

ETC_CONF=/etc/slurm/slurm.conf

link_etc_conf() {  # link_etc_conf DIR: make DIR/slurm.conf the default config
    local dir=$1 target other
    [ "${SLURM_CI_LINK_ETC:-1}" = 1 ] || return 0
    if [ -L "$ETC_CONF" ]; then
        target=$(readlink "$ETC_CONF")
        [ "$target" = "$dir/slurm.conf" ] && return 0
        other=$(dirname "$target")
        if [ -s "$other/pids" ] && grep -q 'generated by .ci/slurm.sh' "$target" 2>/dev/null; then
            local name pid alive=0
            while read -r name pid; do
                pid_is_ours "$pid" "$other" && alive=1
            done <"$other/pids"
            if [ "$alive" = 1 ]; then
                log "$ETC_CONF points to the test cluster running in $other; srun" \
                    "inside snakemake jobs would talk to that one (stop it with:" \
                    "$PROG stop $other, or set SLURM_CI_LINK_ETC=0)"
                return 1
            fi
        fi
    elif [ -e "$ETC_CONF" ]; then
        log "$ETC_CONF exists and is not ours; srun inside snakemake jobs (slurm-jobstep" \
            "drops SLURM_CONF) would use it instead of $dir/slurm.conf" \
            "(set SLURM_CI_LINK_ETC=0 to start anyway)"
        return 1
    fi
    mkdir -p "$(dirname "$ETC_CONF")"
    ln -sfn "$dir/slurm.conf" "$ETC_CONF"
    echo "$ETC_CONF" >"$dir/etc-link"
}

unlink_etc_conf() {
    local dir=$1
    if [ -e "$dir/etc-link" ] || [ -L "$ETC_CONF" ]; then
        if [ -L "$ETC_CONF" ] && [ "$(readlink "$ETC_CONF")" = "$dir/slurm.conf" ]; then
            rm -f "$ETC_CONF"
        fi
        rm -f "$dir/etc-link"
    fi
}

wait_node_idle() {  # wait_node_idle DIR: until the node is usable; resume it if DOWN/DRAIN
    local dir=$1 timeout=${SLURM_CI_TIMEOUT:-60} t0 state="" resumed=0
    t0=$(date +%s)
    while :; do
        state=$(node_state)
        case "$state" in
            idle|mix|alloc|comp) return 0 ;;
            drain*|drng*|down*|fail*)
                # e.g. left DOWN by a previous run, or drained for a config mismatch
                if [ "$resumed" -lt 5 ]; then
                    log "node localhost is '$state', resuming it"
                    scontrol update nodename=localhost state=resume >&2 || true
                    resumed=$((resumed + 1))
                fi ;;
        esac
        pid_alive "$(awk '$1=="slurmd"{print $2}' "$dir/pids")" || break
        [ $(($(date +%s) - t0)) -lt "$timeout" ] || break
        sleep 0.5
    done
    log "node localhost is '${state:-unknown}' after $(($(date +%s) - t0))s"
    sinfo -N -l -R >&2 || true
    scontrol show node localhost >&2 || true
    return 1
}

# ------------------------------------------------------------------------------ start
cmd_start() {
    [ $# -eq 1 ] || die "usage: $PROG start DIR"
    need_root start
    local dir
    dir=$(abspath "$1")
    for b in munged slurmctld slurmd sinfo scontrol; do
        command -v "$b" >/dev/null 2>&1 || die "$b not found (run: $PROG install)"
    done

    if [ -s "$dir/pids" ]; then
        local all_ours=1 pid _name
        while read -r _name pid; do
            pid_is_ours "$pid" "$dir" || all_ours=0
        done <"$dir/pids"
        if [ "$all_ours" = 1 ]; then
            log "already running in $dir"
            link_etc_conf "$dir" || die "cannot make $dir/slurm.conf the default config"
            export SLURM_CONF="$dir/slurm.conf"
            wait_node_idle "$dir" || die "node localhost is not usable (see above)"
            cat "$dir/env"
            return 0
        fi
        log "stale $dir/pids found, stopping leftovers first"
        cmd_stop "$dir" >/dev/null 2>&1 || true
    fi

    mkdir -p "$dir"/{munge,state,spool,run,log}
    chmod 0700 "$dir/munge"
    local ports ctld_port slurmd_port cpus mem
    ports=$(pick_ports)
    ctld_port=${ports% *}
    slurmd_port=${ports#* }
    cpus=${SLURM_CI_CPUS:-$(nproc)}
    mem=$(real_memory_mb)
    write_conf "$dir" "$ctld_port" "$slurmd_port" "$cpus" "$mem"
    export SLURM_CONF="$dir/slurm.conf"
    printf 'export SLURM_CONF=%q\n' "$SLURM_CONF" >"$dir/env"
    link_etc_conf "$dir" || die "not starting a second cluster"
    : >"$dir/pids"

    # munge: private key + socket, so a system munged (if any) is not touched
    if [ ! -s "$dir/munge/munge.key" ]; then
        dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    fi
    chmod 0400 "$dir/munge/munge.key"
    local munge_sock="$dir/munge/munge.socket.2"
    rm -f "$munge_sock" "$munge_sock.lock"
    setsid munged --foreground --force \
        --socket="$munge_sock" --key-file="$dir/munge/munge.key" \
        --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" \
        --seed-file="$dir/munge/munged.seed" \
        </dev/null >>"$dir/log/munged.out" 2>&1 &
    echo "munged $!" >>"$dir/pids"
    for _ in $(seq 1 50); do
        [ -S "$munge_sock" ] && break
        sleep 0.1
    done
    if [ ! -S "$munge_sock" ] || ! munge -S "$munge_sock" -n </dev/null | unmunge -S "$munge_sock" >/dev/null 2>&1; then
        tail_logs "$dir"
        cmd_stop "$dir" >/dev/null 2>&1 || true
        die "munged did not come up"
    fi

    # -D: stay in the foreground so that $! is the daemon's pid; -i: ignore saved state
    setsid slurmctld -D -i -f "$SLURM_CONF" </dev/null >>"$dir/log/slurmctld.out" 2>&1 &
    echo "slurmctld $!" >>"$dir/pids"
    for _ in $(seq 1 100); do
        scontrol ping 2>/dev/null | grep -q 'UP' && break
        pid_alive "$(awk '$1=="slurmctld"{print $2}' "$dir/pids")" || break
        sleep 0.2
    done
    if ! scontrol ping 2>/dev/null | grep -q 'UP'; then
        tail_logs "$dir"
        cmd_stop "$dir" >/dev/null 2>&1 || true
        die "slurmctld did not come up"
    fi

    setsid slurmd -D -N localhost -f "$SLURM_CONF" </dev/null >>"$dir/log/slurmd.out" 2>&1 &
    echo "slurmd $!" >>"$dir/pids"

    local t0
    t0=$(date +%s)
    if ! wait_node_idle "$dir"; then
        tail_logs "$dir"
        cmd_stop "$dir" >/dev/null 2>&1 || true
        die "node localhost did not become idle within ${SLURM_CI_TIMEOUT:-60}s"
    fi
    log "cluster up in $dir: node localhost CPUs=$cpus RealMemory=${mem}MB," \
        "ports $ctld_port/$slurmd_port, took $(($(date +%s) - t0))s for slurmd"
    cat "$dir/env"
}

# ------------------------------------------------------------------------------- stop
cmd_stop() {
    [ $# -eq 1 ] || die "usage: $PROG stop DIR"
    local dir
    dir=$(cd "$1" 2>/dev/null && pwd -P) || die "no such directory: $1"
    [ -e "$dir/pids" ] || { log "nothing to stop in $dir (no pids file)"; return 0; }
    export SLURM_CONF="$dir/slurm.conf"

    # cancel what is still queued or running on this private cluster, so that no
    # slurmstepd / job processes outlive the daemons
    local ctld
    ctld=$(awk '$1=="slurmctld"{print $2}' "$dir/pids")
    if pid_is_ours "$ctld" "$dir"; then
        local jobs
        jobs=$(timeout 10 squeue -h -t PD,R,CG,S -o '%i' 2>/dev/null || true)
        if [ -n "$jobs" ]; then
            # shellcheck disable=SC2086
            timeout 10 scancel $jobs 2>/dev/null || true
            sleep 2
        fi
    fi

    # stop in reverse start order: slurmd, slurmctld, munged
    local name pid pids=()
    while read -r name pid; do
        [ -n "${pid:-}" ] || continue
        if pid_is_ours "$pid" "$dir"; then
            pids=("$pid" "${pids[@]}")
        elif pid_alive "$pid"; then
            log "pid $pid ($name) does not look like ours any more, leaving it alone"
        fi
    done <"$dir/pids"

    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
        # `wait` only works for our own children, so poll
        for _ in $(seq 1 100); do
            pid_alive "$pid" || break
            sleep 0.1
        done
        if pid_alive "$pid"; then
            log "pid $pid ignored SIGTERM for 10s, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do
                pid_alive "$pid" || break
                sleep 0.1
            done
        fi
        if pid_alive "$pid"; then
            log "pid $pid is still alive"
        fi
    done
    mv -f "$dir/pids" "$dir/pids.stopped"
    unlink_etc_conf "$dir"
    log "stopped cluster in $dir (pids: ${pids[*]:-none})"
}

# ----------------------------------------------------------------------------- status
cmd_status() {
    local dir=${1:-}
    if [ -z "$dir" ]; then
        [ -n "${SLURM_CONF:-}" ] || die "usage: $PROG status DIR (or set SLURM_CONF)"
        dir=$(dirname "$SLURM_CONF")
    fi
    dir=$(cd "$dir" 2>/dev/null && pwd -P) || die "no such directory: $dir"
    export SLURM_CONF="$dir/slurm.conf"
    local rc=0 name pid
    if [ -s "$dir/pids" ]; then
        while read -r name pid; do
            if pid_is_ours "$pid" "$dir"; then
                echo "$name $pid running"
            else
                echo "$name $pid NOT running"
                rc=1
            fi
        done <"$dir/pids"
    else
        echo "not started (no $dir/pids)"
        return 1
    fi
    echo "SLURM_CONF=$SLURM_CONF"
    timeout 10 sinfo -N -l || rc=1
    timeout 10 squeue || rc=1
    return "$rc"
}

case "${1:-}" in
    install) shift; cmd_install "$@" ;;
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    status) shift; cmd_status "$@" ;;
    logs) shift; tail_logs "$(abspath "${1:?usage: $PROG logs DIR}")" 2>&1 ;;
    *) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$0" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# A real single-node SLURM on this machine, from Debian's packages, for testing the SLURM profile.
#
#   scripts/slurm_localhost.sh install        apt-get install slurm-wlm munge (if missing; needs root)
#   scripts/slurm_localhost.sh start STATE    write STATE/slurm.conf, start munged, slurmctld, slurmd;
#                                             wait until the node is idle; print `export SLURM_CONF=...`
#   scripts/slurm_localhost.sh stop STATE     stop exactly the daemons `start STATE` started (pid files)
#
# Everything (configuration, spool, logs, pid files, munge socket) lives under STATE and `stop`
# leaves no process behind. Commands find this cluster through SLURM_CONF=STATE/slurm.conf; jobs
# cannot (the SLURM executor plugin clears SLURM_* in its job steps before calling srun), so
# `start` also links /etc/slurm/slurm.conf to it when that file does not exist, and `stop`
# removes exactly that link. It refuses to run beside an existing /etc/slurm/slurm.conf. No accounting database:
# the profile polls with squeue (see workflow/profiles/slurm/config.yaml).
set -euo pipefail

DAEMONS=(slurmd slurmctld munged)   # stop order: the reverse of start

die() { echo "slurm_localhost: $*" >&2; exit 1; }

install_packages() {
  [[ $EUID -eq 0 ]] || die "installing needs root"
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
      && command -v sbatch >/dev/null; then
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends slurm-wlm munge
}

write_config() {
  local state=$1 host cpus memory
  host=$(hostname -s)
  cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)  # nproc honours both; a caller may have set them
  memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
  mkdir -p "$state/ctld" "$state/d" "$state/log" "$state/munge"
  cat >"$state/slurm.conf" <<EOF
ClusterName=localhost
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$state/munge/munge.socket
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/d
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
MinJobAge=600
KillWait=30
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

launch() {
  local state=$1
  chown -R munge:munge "$state/munge"
  runuser -u munge -- munged --socket="$state/munge/munge.socket" --pid-file="$state/munge/munged.pid" \
    --log-file="$state/munge/munged.log" --seed-file="$state/munge/munged.seed" || return 1
  cp "$state/munge/munged.pid" "$state/munged.pid"
  slurmctld -f "$SLURM_CONF" || return 1
  slurmd -f "$SLURM_CONF" || return 1
}

start() {
  local state=$1
  [[ $EUID -eq 0 ]] || die "starting the daemons needs root"
  for daemon in "${DAEMONS[@]}"; do
    [[ ! -s "$state/$daemon.pid" ]] || ! kill -0 "$(cat "$state/$daemon.pid")" 2>/dev/null \
      || die "$daemon from $state is already running"
  done
  if [[ -e /etc/slurm/slurm.conf || -L /etc/slurm/slurm.conf ]]; then
    die "/etc/slurm/slurm.conf exists: a SLURM is configured on this machine already"
  fi
  write_config "$state"
  mkdir -p /etc/slurm
  ln -s "$state/slurm.conf" /etc/slurm/slurm.conf
  export SLURM_CONF=$state/slurm.conf
  launch "$state" || { stop "$state"; die "a daemon failed to start (logs in $state)"; }
  for _ in $(seq 1 60); do
    if [[ $(sinfo --noheader --format=%t 2>/dev/null) == idle* ]]; then
      echo "export SLURM_CONF=$SLURM_CONF"
      return 0
    fi
    sleep 0.5
  done
  sinfo >&2 || true
  tail -n 20 "$state/log/slurmctld.log" "$state/log/slurmd.log" >&2 || true
  stop "$state"
  die "the node did not become idle within 30 s"
}

stop() {
  local state=$1 pid
  for daemon in "${DAEMONS[@]}"; do
    [[ -s "$state/$daemon.pid" ]] || continue
    pid=$(cat "$state/$daemon.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      ! kill -0 "$pid" 2>/dev/null || kill -KILL "$pid"
    fi
    rm -f "$state/$daemon.pid"
  done
  if [[ -L /etc/slurm/slurm.conf && $(readlink /etc/slurm/slurm.conf) == "$state/slurm.conf" ]]; then
    rm -f /etc/slurm/slurm.conf
  fi
}

case "${1:-}" in
  install) install_packages ;;
  start) [[ -n "${2:-}" ]] || die "usage: $0 start STATE_DIR"; start "$(realpath -m "$2")" ;;
  stop) [[ -n "${2:-}" ]] || die "usage: $0 stop STATE_DIR"; stop "$(realpath -m "$2")" ;;
  *) die "usage: $0 install | start STATE_DIR | stop STATE_DIR" ;;
esac

#!/bin/sh
# A one-node Slurm cluster on this machine, from Debian's packages, for trying the job
# array recipe (make test-slurm): munge for authentication, slurmctld and slurmd as root,
# every file (config, state, logs, pid files) under one folder, nothing in /etc/slurm.
#
#   tools/slurm/local_cluster.sh start DIR   # writes DIR/slurm.conf, starts the daemons
#   tools/slurm/local_cluster.sh stop DIR    # stops the daemons that start began
#
# The clients find the cluster through SLURM_CONF=DIR/slurm.conf (start prints it).
# Needs root and: apt-get install -y slurmctld slurmd slurm-client munge
set -eu
action=${1:-}
dir=${2:-}
if [ -z "$action" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi

stop() {
  for d in slurmd slurmctld munged; do
    if [ -f "$dir/$d.pid" ]; then
      pid=$(cat "$dir/$d.pid")
      kill "$pid" 2>/dev/null || true
      i=0
      while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
      rm -f "$dir/$d.pid"
    fi
  done
}

case $action in
stop)
  stop
  exit 0
  ;;
start) ;;
*)
  echo "$0: expected start or stop, got '$action'" >&2
  exit 2
  ;;
esac

for tool in munged slurmctld slurmd sbatch; do
  if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
    echo "$0: $tool is missing: apt-get install -y slurmctld slurmd slurm-client munge" >&2
    exit 1
  fi
done
if [ "$(id -u)" != 0 ]; then
  echo "$0: starts munged, slurmctld and slurmd as root: run it as root" >&2
  exit 1
fi

mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
dir=$(cd "$dir" && pwd)
stop  # a cluster that an earlier start left running

# munge: its own socket, key and pid file under DIR (the Debian key when there is one).
if [ ! -f "$dir/munge/munge.key" ]; then
  if [ -f /etc/munge/munge.key ]; then cp /etc/munge/munge.key "$dir/munge/munge.key"; else
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 2>/dev/null; fi
fi
chown -R munge:munge "$dir/munge"
chmod 711 "$dir/munge"  # the socket inside must be reachable by every user
chmod 400 "$dir/munge/munge.key"
socket="$dir/munge/munge.socket"
runuser -u munge -- /usr/sbin/munged --key-file="$dir/munge/munge.key" --socket="$socket" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"
cp "$dir/munge/munged.pid" "$dir/munged.pid"

host=$(hostname -s)
cpus=$(nproc)
memory=$(awk '/MemTotal/ { print int($2 / 1024 * 0.9) }' /proc/meminfo)
cat > "$dir/slurm.conf" <<CONF
# Written by tools/slurm/local_cluster.sh: one node, this machine, everything as root.
ClusterName=ganomaly-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MaxArraySize=10001
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

export SLURM_CONF="$dir/slurm.conf"
/usr/sbin/slurmctld -c -f "$SLURM_CONF"   # -c: a clean start, no state of an earlier one
/usr/sbin/slurmd -f "$SLURM_CONF"
# Ready when the node takes jobs.
i=0
until sinfo -h -N -o '%T' 2>/dev/null | grep -q '^idle'; do
  i=$((i + 1))
  if [ $i -gt 60 ]; then
    echo "$0: the node did not come up in 30 s; see $dir/slurmctld.log and $dir/slurmd.log" >&2
    sinfo -N >&2 || true
    exit 1
  fi
  sleep 0.5
done
echo "SLURM_CONF=$SLURM_CONF"

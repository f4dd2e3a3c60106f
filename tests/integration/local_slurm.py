"""A one-node Slurm on loopback for the processing tests (see /work/shared/ENVIRONMENT.md): munge,
slurmctld -D and slurmd -D with a slurm.conf in a temp dir, stopped through their own process handles."""
import os
import socket
import subprocess
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

class LocalSlurm:
    """A one-node Slurm on loopback (munge, slurmctld -D, slurmd -D), stopped through its own handles."""

    def __init__(self, workdir):
        self.dir = workdir
        self.procs = []
        self.munged = None
        host = socket.gethostname().split(".")[0]
        mem = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20 * 0.8)
        for d in ("spool", "state", "log"):
            os.makedirs(os.path.join(workdir, d), exist_ok=True)
        self.conf = os.path.join(workdir, "slurm.conf")
        with open(self.conf, "w") as f:
            f.write(f"""ClusterName=nadirtest
SlurmctldHost={host}
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
MpiDefault=none
StateSaveLocation={workdir}/state
SlurmdSpoolDir={workdir}/spool
SlurmctldPidFile={workdir}/slurmctld.pid
SlurmdPidFile={workdir}/slurmd.pid
SlurmctldLogFile={workdir}/log/slurmctld.log
SlurmdLogFile={workdir}/log/slurmd.log
SchedulerType=sched/backfill
MinJobAge=300
NodeName={host} CPUs={os.cpu_count()} RealMemory={mem} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
""")
        self.env = dict(os.environ, SLURM_CONF=self.conf)

    def munge_ok(self):
        try:
            p1 = subprocess.run("munge -n | unmunge", shell=True, capture_output=True, text=True, timeout=10)
            return "Success" in p1.stdout
        except Exception:
            return False

    def start(self, timeout=60):
        if not self.munge_ok():
            os.makedirs("/run/munge", exist_ok=True)
            subprocess.run(["chown", "-R", "munge:munge", "/etc/munge", "/var/lib/munge", "/var/log/munge", "/run/munge"],
                           check=False)
            self.munged = subprocess.Popen(["runuser", "-u", "munge", "--", "munged", "-F"],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(50):
                if self.munge_ok():
                    break
                time.sleep(0.1)
        if not self.munge_ok():
            raise RuntimeError("munge does not start")
        log = open(os.path.join(self.dir, "log", "daemons.out"), "w")
        self.procs.append(subprocess.Popen(["slurmctld", "-D", "-i"], env=self.env, stdout=log, stderr=log))
        time.sleep(1)
        self.procs.append(subprocess.Popen(["slurmd", "-D"], env=self.env, stdout=log, stderr=log))
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = subprocess.run(["sinfo", "-h", "-o", "%t"], env=self.env, capture_output=True, text=True)
            if r.returncode == 0 and r.stdout.strip() in ("idle", "mix", "alloc"):
                return
            for p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError(f"a Slurm daemon exited: {open(os.path.join(self.dir, 'log', 'daemons.out')).read()[-2000:]}")
            time.sleep(0.5)
        raise RuntimeError(f"the Slurm node never became idle: {r.stdout} {r.stderr}")

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if self.munged and self.munged.poll() is None:
            self.munged.terminate()
            self.munged.wait(10)

if __name__ == "__main__":  # a manual check: start, run one job, stop
    s = LocalSlurm(tempfile.mkdtemp())
    t = time.time()
    s.start()
    print("up in", time.time() - t)
    r = subprocess.run(["sbatch", "--parsable", "--wrap", "echo hi"], env=s.env, capture_output=True, text=True)
    print(r.stdout, r.stderr)
    time.sleep(3)
    print(subprocess.run(["squeue", "-h", "-j", r.stdout.strip(), "-o", "%T"], env=s.env, capture_output=True, text=True))
    s.stop()

"""What a crash of the whole machine (not only of the server) needs from a job, seen in its system calls:
each result file is fsynced before outputs.json names it, and outputs.json is in place before status.json
says successful, so a job reported successful never has a result cut short."""
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import NADIR, server_config

# LeakSanitizer cannot run under ptrace: a sanitizer build traced here checks everything but leaks
TRACED_ENV = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0")


@pytest.mark.skipif(not shutil.which("strace"), reason="strace is not installed (apt-get install strace)")
def test_results_synced_before_success(demo_dir, tmp_path):
    conf = tmp_path / "nadir.yaml"
    conf.write_text(server_config(demo_dir, data_dir=str(tmp_path / "var")))
    job = tmp_path / "job"
    job.mkdir()
    (job / "inputs.json").write_text(json.dumps({
        "process": "subset", "config": str(conf),
        "inputs": {"dataset": "dem_demo", "bbox": {"bbox": [10.1, 46.3, 10.2, 46.4]}, "format": "geotiff"}}))
    trace = tmp_path / "trace.txt"
    r = subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat,fsync,fdatasync,rename", "-o", str(trace),
                        NADIR, "run-job", str(job)], capture_output=True, text=True, timeout=120,
                       env=TRACED_ENV)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((job / "status.json").read_text())["state"] == "successful"
    calls = [l.split(None, 1)[1] for l in trace.read_text().splitlines() if l.strip() and l.split()[0].isdigit()]
    result = str(job / "subset.tif")

    def index(pred, what):
        found = [i for i, c in enumerate(calls) if pred(c)]
        assert found, f"no {what} in the trace:\n" + "\n".join(calls[-40:])
        return found

    # the last time the result is opened for its sync, and that descriptor's fsync
    opened = index(lambda c: c.startswith("openat(") and f'"{result}"' in c and "O_RDONLY" in c
                   and not re.search(r"= -\d", c), "read-only open of the result")
    fd = re.search(r"= (\d+)$", calls[opened[-1]]).group(1)
    synced = index(lambda c: re.match(rf"f(data)?sync\({fd}\)\s+= 0", c) is not None, "fsync of the result")
    outputs = index(lambda c: c.startswith("rename(") and f'"{job}/outputs.json"' in c, "rename of outputs.json")
    success = index(lambda c: c.startswith("rename(") and f'"{job}/status.json"' in c, "rename of status.json")
    assert opened[-1] < min(s for s in synced if s > opened[-1]) < outputs[-1] < success[-1], \
        "the order is not: result synced, outputs.json renamed, status.json (successful) renamed"


@pytest.mark.skipif(not shutil.which("strace"), reason="strace is not installed (apt-get install strace)")
def test_second_run_of_a_directory_waits_and_takes_the_success(tmp_path):
    """A server killed between starting a job and recording it starts the job again after its restart while
    the first process still runs: the second waits, then reports the first one's success without writing."""
    job = tmp_path / "job"
    job.mkdir()
    (job / "inputs.json").write_text(json.dumps({"process": "sleep", "inputs": {"seconds": 1.5}}))
    first = subprocess.Popen([NADIR, "run-job", str(job)])
    deadline = time.time() + 10
    while not (job / "status.json").exists() and time.time() < deadline:
        time.sleep(0.02)
    assert json.loads((job / "status.json").read_text())["state"] == "running"
    trace = tmp_path / "trace.txt"
    second = subprocess.run(["strace", "-f", "-qq", "-e", "trace=rename", "-o", str(trace), NADIR, "run-job", str(job)],
                            capture_output=True, text=True, timeout=60, env=TRACED_ENV)
    assert first.wait(60) == 0
    assert first.returncode == 0 and second.returncode == 0, second.stderr[-2000:]
    assert json.loads((job / "status.json").read_text())["state"] == "successful"
    writes = [l for l in trace.read_text().splitlines() if "rename(" in l and str(job) in l]
    assert not writes, "the second process wrote into the directory of the first:\n" + "\n".join(writes)

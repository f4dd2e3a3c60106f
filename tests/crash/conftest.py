"""Crash-loop helpers: the integration suite's server and demo data (imported, not copied), a server that
can be killed with SIGKILL and restarted over the same state, and the checks every restart must pass."""
import importlib.util
import os
import random
import signal
import sqlite3
import subprocess
import time

import pytest

_spec = importlib.util.spec_from_file_location(
    "nadir_integration_conftest", os.path.join(os.path.dirname(__file__), "..", "integration", "conftest.py"))
_it = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_it)

NADIR = _it.NADIR
Server = _it.Server
server_config = _it.server_config
demo_dir = _it.demo_dir  # the session fixture, re-exported so the crash tests share one demo data set

# Kill-and-restart rounds per test; `make test` runs a few, `make test-crash-long` (or the variable) many more.
ITERATIONS = int(os.environ.get("NADIR_CRASH_ITERATIONS", "6"))
SEED = int(os.environ.get("NADIR_CRASH_SEED", str(int(time.time()))))


@pytest.fixture
def rng(request):
    """A random source per test whose seed is printed, so a failing round can be replayed."""
    seed = SEED + sum(map(ord, request.node.name))
    print(f"crash loop seed for {request.node.name}: {seed} (NADIR_CRASH_SEED={SEED})")
    return random.Random(seed)


def kill9(server):
    """SIGKILL: no handler runs, nothing is flushed or closed; what is on disk is all that survives."""
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGKILL)
    server.proc.wait()
    server.log.close()


def kill_tree_of(path_fragment):
    """SIGKILL every `nadir run-job` child whose arguments name path_fragment (they run in sessions of their
    own, so killing the server leaves them alive); returns how many were killed."""
    n = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if b"run-job" in args and any(path_fragment.encode() in a for a in args):
            try:
                os.killpg(int(pid), signal.SIGKILL)
                n += 1
            except (ProcessLookupError, PermissionError):
                pass
    return n


def integrity_ok(path):
    """PRAGMA integrity_check of one SQLite file, as a new process would open it after the crash (the WAL
    is replayed by the open)."""
    con = sqlite3.connect(path, timeout=30)
    try:
        rows = con.execute("PRAGMA integrity_check").fetchall()
    finally:
        con.close()
    assert rows == [("ok",)], f"{path}: {rows[:10]}"


def sqlite_files(root):
    out = []
    for d, _, files in os.walk(root):
        out += [os.path.join(d, f) for f in files if f.endswith(".db")]
    return out


_started = []


@pytest.fixture(autouse=True)
def stop_servers_left():
    """A test that fails midway leaves no server behind (stop() of one already stopped or killed only
    reads its exit status)."""
    yield
    while _started:
        _started.pop().stop()


def start(workdir, config_text, name):
    """A server over the state a killed one left: it must start, whatever the moment of the kill."""
    try:
        _started.append(Server(workdir, config_text, name=name))
        return _started[-1]
    except RuntimeError as e:
        logs = "".join(open(os.path.join(workdir, f)).read()[-2000:] for f in sorted(os.listdir(workdir))
                       if f.endswith(".log") and f.startswith(name))
        raise AssertionError(f"restart {name} failed: {e}\n{logs}") from None


def run_cli(args, timeout=120):
    return subprocess.run([NADIR, *args], capture_output=True, text=True, timeout=timeout)

"""What the benchmarks' Python parts share: writing and reading the tree's
files in one system call each, medians in milliseconds, and the daemon's
resident memory."""
import json
import os
import statistics
import subprocess
import time

# A main command that ends at once on SIGTERM (a stop is then quick).
TRAP = '["sh", "-c", "trap \'exit 0\' TERM; while :; do sleep 1; done"]'


def write(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.write(fd, text.encode())
    os.close(fd)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def raw_runc_config(state, name):
    """The config.json bottlefs rendered for bottle NAME (started once), for
    a raw `runc run` of the same guest: without the home and copy
    workspace images, which the shim mounts in its own namespace."""
    cfg = json.load(open(f"{state}/run/{name}/config.json"))
    cfg["mounts"] = [m for m in cfg["mounts"]
                     if "/homefs/" not in m.get("source", "") and "/workfs/" not in m.get("source", "")]
    return cfg


def median_ms(samples):
    return statistics.median(samples) * 1000


def daemon_rss_kib(state):
    """VmRSS of the bottlefs daemon mounted with state=STATE."""
    out = subprocess.run(["pgrep", "-f", f"state={state}"], capture_output=True, text=True)
    for pid in out.stdout.split():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"bottlefs" not in f.read().split(b"\0")[0]:
                    continue
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            continue
    raise RuntimeError(f"no bottlefs daemon for {state}")


def session_true(exec_dir, name):
    """Seconds for one exec session of `true` through the files: mkdir,
    cmd, its (empty) stdout, its status; the session is removed after."""
    d = f"{exec_dir}/{name}"
    t = time.perf_counter()
    os.mkdir(d)
    write(f"{d}/cmd", "true")
    read(f"{d}/stdout")
    st = read(f"{d}/wait")
    took = time.perf_counter() - t
    assert st == b"exited 0\n", st
    os.rmdir(d)
    return took

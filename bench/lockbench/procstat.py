"""CPU time and memory of a process tree, from /proc (Linux)."""
import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _children(pid: int) -> list[int]:
    found = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:  # the process ended meanwhile (a backend that closed)
        return found
    for task in tasks:
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def server_pids(root: int) -> list[int]:
    """``root`` and every process below it."""
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo += _children(pid)
    return pids


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def cpu_seconds(pids) -> float:
    """User + system CPU seconds the processes have used (the gone ones count 0)."""
    total = 0
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICK


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of ``root``, its live descendants and the children it has reaped.

    The postmaster reaps every backend that ends (a pgbench connection, a pool
    connection closed), and the kernel adds the CPU of a reaped child to its
    parent's cutime/cstime: so this total only ever grows.
    """
    fields = _stat(root)
    if fields is None:
        return 0.0
    reaped = (int(fields[13]) + int(fields[14])) / _TICK  # cutime, cstime
    return cpu_seconds(server_pids(root)) + reaped


def postmaster_pid(conn) -> int | None:
    """The PostgreSQL server's main process, when it runs on this machine."""
    backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    fields = _stat(backend)
    return int(fields[1]) if fields is not None else None  # ppid


def rss_mib(pids) -> float:
    """Resident memory of the processes, MiB."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


"""The child processes serve runs (reclaimer, webhook worker): they stop when asked,
and by themselves when their parent is gone."""
import os
import signal
import subprocess
import sys
import textwrap

import psycopg
import pytest

from taler_inventory import reclaimer, webhooks
from tests.support.waiting import until


def _sessions(url: str, name: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name"
                            " LIKE %s", (f"%{name}",)).fetchone()[0]


@pytest.mark.parametrize("module, name", [(reclaimer, "reclaimer"), (webhooks, "webhooks")])
def test_each_child_runs_during_the_block_and_stops_when_asked(database_url, module, name):
    with module.running(database_url, interval=0.2) as proc:
        until(lambda: _sessions(database_url, name) == 1, f"the {name} connects", 20, step=0.1)
        assert proc.poll() is None
    assert proc.returncode == 0  # SIGTERM: it finished its pass and left by itself
    until(lambda: _sessions(database_url, name) == 0, f"the {name} disconnects", 10, step=0.1)


def test_interval_zero_runs_no_child(database_url):
    with reclaimer.running(database_url, interval=0) as proc:
        assert proc is None
    assert _sessions(database_url, "reclaimer") == 0


def test_a_child_whose_parent_is_killed_stops_by_itself(database_url):
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from taler_inventory import reclaimer
        with reclaimer.running({database_url!r}, interval=0.2) as proc:
            print(proc.pid, flush=True)
            time.sleep(600)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        until(lambda: _sessions(database_url, "reclaimer") == 1, "the reclaimer connects", 20,
              step=0.1)
        os.kill(parent.pid, signal.SIGKILL)  # no chance to stop its child
        parent.wait(10)
        until(lambda: _sessions(database_url, "reclaimer") == 0, "the orphan stops", 15, step=0.1)
        until(lambda: not _alive(child), "the orphan's process ends", 5, step=0.1)
    finally:
        parent.kill()
        parent.wait(10)
        parent.stdout.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose: it runs nothing any more.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:  # reaped meanwhile
        return False

"""The child processes ``serve`` runs beside its workers: the reclaimer, the webhook worker.

Each is ``python -m <its module>`` with its settings in the environment.  It lives
while the ``with`` block of :func:`running` does, and stops by itself when its
parent is gone (a parent killed outright cannot stop it).
"""
import os
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager


@contextmanager
def running(module: str, env: dict, *, stop_timeout: float):
    """Run ``python -m module`` with ``env`` added while the block runs.

    At the end it is asked to stop (SIGTERM) and given ``stop_timeout`` seconds to
    finish what it is doing, then killed.
    """
    proc = subprocess.Popen([sys.executable, "-m", module], env={**os.environ, **env},
                            stdin=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=stop_timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def stop_event() -> threading.Event:
    """In the child: an event set on SIGTERM or SIGINT, or when the parent has gone."""
    stop = threading.Event()
    parent = os.getppid()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def watch_parent():
        while not stop.wait(1.0):
            if os.getppid() != parent:
                stop.set()

    threading.Thread(target=watch_parent, daemon=True).start()
    return stop

"""Real threads started at once: the concurrency tests' one way to race."""
import threading


def run_threads(target, count, *, start_timeout=30, join_timeout=60):
    """Start ``count`` threads at once (a barrier) on ``target(i)``; return their
    results in order.  An exception in any thread fails the caller with all of them."""
    barrier = threading.Barrier(count)
    results = [None] * count
    errors = []

    def run(i):
        try:
            barrier.wait(timeout=start_timeout)
            results[i] = target(i)
        except BaseException as exc:  # reported by the calling thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=join_timeout)
    assert not errors, errors
    return results


class Background:
    """Threads that run while a ``with`` block does: started on entry; on exit
    :attr:`stop` is set and each is joined within :attr:`join_timeout` seconds.
    Subclasses add their threads to :attr:`threads` and watch :attr:`stop`."""

    join_timeout = 10

    def __init__(self):
        self.stop = threading.Event()
        self.threads = []

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(self.join_timeout)

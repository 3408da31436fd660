"""Waiting for something another thread or process does, bounded."""
import time


def until(condition, what="the condition holds", seconds=30, step=0.05):
    """Poll ``condition()`` every ``step`` seconds until it is true; fail naming
    ``what`` after about ``seconds``.  The polls are counted, not timed, so that a
    frozen clock (freezegun) cannot make the wait endless."""
    for _ in range(max(1, round(seconds / step))):
        if condition():
            return
        time.sleep(step)
    if not condition():
        raise AssertionError(f"not within {seconds} s: {what}")

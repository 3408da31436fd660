"""The one clock of the server, and the Taler wire formats of time.

Every business decision takes "now" from :func:`now_us` in Python and passes it into
SQL as a parameter, so tests can freeze and move time with freezegun.  Internally an
absolute time is an integer of microseconds since the epoch and a relative time an
integer of microseconds; :data:`FOREVER` stands for ``"never"`` / ``"forever"``.
"""
import time

#: Largest INT8: "never" as an absolute time, "forever" as a relative time.
FOREVER = 2**63 - 1

US_PER_S = 1_000_000

#: One hour and one day, in microseconds (the unit of every relative time here).
HOUR = 3600 * US_PER_S
DAY = 24 * HOUR


def now_us() -> int:
    """Return the current time in microseconds since the epoch."""
    return time.time_ns() // 1000


def add(abs_us: int, rel_us: int) -> int:
    """Add a relative time to an absolute one, saturating at :data:`FOREVER`."""
    if abs_us >= FOREVER or rel_us >= FOREVER:
        return FOREVER
    return min(abs_us + rel_us, FOREVER)


def ceil_to_second(us: int) -> int:
    """Round a time up to a whole second (Taler Timestamps have seconds)."""
    if us >= FOREVER:
        return FOREVER
    return min(-(-us // US_PER_S) * US_PER_S, FOREVER)


def timestamp_to_wire(abs_us: int | None):
    """Render an absolute time as a Taler ``Timestamp`` (whole seconds)."""
    if abs_us is None:
        return None
    if abs_us >= FOREVER:
        return {"t_s": "never"}
    return {"t_s": abs_us // US_PER_S}


def relative_to_wire(rel_us: int):
    """Render a relative time as a Taler ``RelativeTime``."""
    if rel_us >= FOREVER:
        return {"d_us": "forever"}
    return {"d_us": rel_us}

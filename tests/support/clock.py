"""The frozen clock of the tests, and tokens minted on it."""
from datetime import UTC, datetime

import freezegun

from taler_inventory.timeutil import US_PER_S

from .. import factories


def frozen_clock():
    """Freeze the clock at the current whole second.

    Whole seconds (and whole-second steps) are exact in freezegun's float clock, and
    the real time keeps the tokens of the fixtures valid.
    """
    return freezegun.freeze_time(datetime.now(UTC).replace(microsecond=0))


def t0_us(clock) -> int:
    """The instant ``clock`` was frozen at, in microseconds."""
    return int(clock.time_to_freeze.replace(tzinfo=UTC).timestamp()) * US_PER_S


def frozen_headers(client, instance="admin", password=factories.ADMIN_PASSWORD, **body):
    """Headers of a token minted under the frozen clock (a fixture's, minted in real
    time, may look expired there or expire while the test moves the clock)."""
    return factories.auth_headers(factories.token(client, instance, password, **body))

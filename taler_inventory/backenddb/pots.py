"""Database operations on money pots (named rows, :mod:`.named`)."""
from psycopg import errors
from psycopg.types.json import Jsonb

from ..amount import Amount
from .named import NamedRows
from .outcome import Outcome, Status

POTS = NamedRows("money_pots", "pot", listed="pot_totals")

#: Create an empty pot (CREATED, with its serial, or NAME_TAKEN).
insert_pot = POTS.insert
#: One page of the instance's pots in serial order.
list_pots = POTS.list
#: Delete a pot; products that named it have no pot any more.
delete_pot = POTS.delete


def lookup_pot(conn, instance_serial: int, pot_serial: int):
    """A pot's name, description and totals, or None."""
    return conn.execute(
        """SELECT pot_name, description, pot_totals FROM money_pots
            WHERE instance_serial = %s AND pot_serial = %s""",
        (instance_serial, pot_serial)).fetchone()


def same_totals(stored: list[str], expected: list[str]) -> bool:
    """Whether a pot holds ``expected``; a currency at zero counts as absent."""
    def held(totals):
        return {a.currency: a.value for a in map(Amount.parse, totals) if a.value}
    return held(stored) == held(expected)


def update_pot(conn, instance_serial: int, pot_serial: int, pot: dict) -> Outcome:
    """Rename a pot, change its description and, if asked, reset its totals.

    New totals replace the stored ones only if the pot holds the expected totals
    (when the client sends them), checked under the pot's row lock.
    """
    try:
        with conn.transaction():
            row = conn.execute(
                """SELECT pot_totals FROM money_pots
                    WHERE instance_serial = %s AND pot_serial = %s FOR UPDATE""",
                (instance_serial, pot_serial)).fetchone()
            if row is None:
                return Outcome(Status.UNKNOWN)
            totals = row["pot_totals"]
            if "new_pot_totals" in pot:
                if "expected_pot_totals" in pot and not same_totals(
                        totals, pot["expected_pot_totals"]):
                    return Outcome(Status.TOTALS_DIFFER)
                totals = pot["new_pot_totals"]
            conn.execute(
                """UPDATE money_pots SET pot_name = %s, description = %s, pot_totals = %s
                    WHERE pot_serial = %s""",
                (pot["pot_name"], pot["description"], Jsonb(totals), pot_serial))
    except errors.UniqueViolation:
        return Outcome(Status.NAME_TAKEN)
    return Outcome(Status.OK)

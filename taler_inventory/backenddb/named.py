"""Rows of an instance whose name is unique within it: product groups, money pots."""
from psycopg import errors

from .outcome import Outcome, SerialOutcome, Status


def write_named(conn, statement: str, params, *, done: Status = Status.OK) -> SerialOutcome:
    """Run an INSERT or UPDATE ... RETURNING (the row's ``serial``) in its own transaction.

    NAME_TAKEN if another row of the instance has the name (the unique constraint
    said so, so concurrent writers cannot both win), UNKNOWN if no row matched,
    else ``done`` with the serial of the row written.
    """
    try:
        with conn.transaction():
            row = conn.execute(statement, params).fetchone()
    except errors.UniqueViolation:
        return SerialOutcome(Status.NAME_TAKEN)
    if row is None:
        return SerialOutcome(Status.UNKNOWN)
    return SerialOutcome(done, serial=row["serial"])


def delete_named(conn, table: str, serial_column: str, instance_serial: int,
                 serial: int) -> Outcome:
    """Delete a row of the instance by serial (UNKNOWN if it has no such row)."""
    row = conn.execute(
        f"DELETE FROM {table} WHERE instance_serial = %s AND {serial_column} = %s"
        " RETURNING 1", (instance_serial, serial)).fetchone()
    return Outcome(Status.OK if row is not None else Status.UNKNOWN)

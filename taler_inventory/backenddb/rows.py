"""Statements that resources write alike: one row of an instance, by its key."""
from .outcome import Outcome, matched


def delete_row(conn, table: str, key_column: str, instance_serial: int, key) -> Outcome:
    """Delete the instance's row of ``table`` whose ``key_column`` is ``key``.

    OK, or UNKNOWN if the instance has no such row (another instance's row with the
    same key stays).  What the row owns goes by the table's ``ON DELETE`` rules.
    """
    row = conn.execute(
        f"DELETE FROM {table} WHERE instance_serial = %s AND {key_column} = %s RETURNING 1",
        (instance_serial, key)).fetchone()
    return matched(row)

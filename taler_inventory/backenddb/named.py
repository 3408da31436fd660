"""Rows of an instance whose name is unique within it: product groups, money pots."""
from psycopg import errors


def write_named(conn, statement: str, params) -> tuple[bool, object]:
    """Run an INSERT or UPDATE ... RETURNING in its own transaction.

    Returns (False, None) if another row of the instance has the name (the
    unique constraint said so, so concurrent writers cannot both win), else
    (True, the returned row or None if no row matched).
    """
    try:
        with conn.transaction():
            return True, conn.execute(statement, params).fetchone()
    except errors.UniqueViolation:
        return False, None


def delete_named(conn, table: str, serial_column: str, instance_serial: int,
                 serial: int) -> bool:
    """Delete a row of the instance by serial; False if it has no such row."""
    row = conn.execute(
        f"DELETE FROM {table} WHERE instance_serial = %s AND {serial_column} = %s"
        " RETURNING 1", (instance_serial, serial)).fetchone()
    return row is not None

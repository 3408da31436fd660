"""Rows of an instance whose name is unique within it: product groups, money pots."""
from dataclasses import dataclass

from psycopg import errors

from .outcome import Outcome, SerialOutcome, Status
from .paging import page
from .rows import delete_row


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


@dataclass(frozen=True)
class NamedRows:
    """The operations every kind of named row shares, by table and kind.

    A row of kind ``group`` in ``product_groups`` has the columns ``group_serial``,
    ``group_name`` and ``description``; a listing shows the serial, the name and
    the column ``listed``.
    """

    table: str
    kind: str
    listed: str

    def insert(self, conn, instance_serial: int, row: dict) -> SerialOutcome:
        """Create a row (CREATED, with its serial, or NAME_TAKEN)."""
        return write_named(
            conn, f"""INSERT INTO {self.table} (instance_serial, {self.kind}_name, description)
                      VALUES (%s, %s, %s) RETURNING {self.kind}_serial AS serial""",
            (instance_serial, row[f"{self.kind}_name"], row["description"]),
            done=Status.CREATED)

    def list(self, conn, instance_serial: int, limit: int, offset: int | None):
        """One page of the instance's rows in serial order."""
        p = page(f"{self.kind}_serial", limit, offset)
        return conn.execute(
            f"""SELECT {self.kind}_serial, {self.kind}_name, {self.listed} FROM {self.table}
                 WHERE instance_serial = %(instance)s AND {p.condition} {p.order}""",
            dict(p.params, instance=instance_serial)).fetchall()

    def delete(self, conn, instance_serial: int, serial: int) -> Outcome:
        """Delete a row of the instance by serial (UNKNOWN if it has no such row)."""
        return delete_row(conn, self.table, f"{self.kind}_serial", instance_serial, serial)

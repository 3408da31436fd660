"""Database operations on product groups."""
import enum

from .named import delete_named, write_named
from .paging import page


class Status(enum.Enum):
    """Outcomes of group operations, for the view to map onto HTTP."""

    OK = "ok"
    UNKNOWN = "unknown"
    NAME_TAKEN = "name_taken"


def insert_group(conn, instance_serial: int, group: dict):
    """Create a group; return (Status, its serial or None)."""
    free, row = write_named(
        conn, """INSERT INTO product_groups (instance_serial, group_name, description)
                 VALUES (%s, %s, %s) RETURNING group_serial""",
        (instance_serial, group["group_name"], group["description"]))
    return (Status.OK, row["group_serial"]) if free else (Status.NAME_TAKEN, None)


def list_groups(conn, instance_serial: int, limit: int, offset: int | None):
    """One page of the instance's groups in serial order."""
    p = page("group_serial", limit, offset)
    return conn.execute(
        f"""SELECT group_serial, group_name, description FROM product_groups
             WHERE instance_serial = %(instance)s AND {p.condition} {p.order}""",
        dict(p.params, instance=instance_serial)).fetchall()


def update_group(conn, instance_serial: int, group_serial: int, group: dict) -> Status:
    """Rename a group or change its description."""
    free, row = write_named(
        conn, """UPDATE product_groups SET group_name = %s, description = %s
                  WHERE instance_serial = %s AND group_serial = %s RETURNING 1""",
        (group["group_name"], group["description"], instance_serial, group_serial))
    if not free:
        return Status.NAME_TAKEN
    return Status.OK if row is not None else Status.UNKNOWN


def delete_group(conn, instance_serial: int, group_serial: int) -> Status:
    """Delete a group; its products stay, in no group."""
    found = delete_named(conn, "product_groups", "group_serial", instance_serial,
                         group_serial)
    return Status.OK if found else Status.UNKNOWN

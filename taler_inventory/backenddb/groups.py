"""Database operations on product groups."""
from .named import delete_named, write_named
from .outcome import Outcome, SerialOutcome, Status
from .paging import page


def insert_group(conn, instance_serial: int, group: dict) -> SerialOutcome:
    """Create a group (CREATED, with its serial, or NAME_TAKEN)."""
    return write_named(
        conn, """INSERT INTO product_groups (instance_serial, group_name, description)
                 VALUES (%s, %s, %s) RETURNING group_serial AS serial""",
        (instance_serial, group["group_name"], group["description"]), done=Status.CREATED)


def list_groups(conn, instance_serial: int, limit: int, offset: int | None):
    """One page of the instance's groups in serial order."""
    p = page("group_serial", limit, offset)
    return conn.execute(
        f"""SELECT group_serial, group_name, description FROM product_groups
             WHERE instance_serial = %(instance)s AND {p.condition} {p.order}""",
        dict(p.params, instance=instance_serial)).fetchall()


def update_group(conn, instance_serial: int, group_serial: int, group: dict) -> Outcome:
    """Rename a group or change its description."""
    return write_named(
        conn, """UPDATE product_groups SET group_name = %s, description = %s
                  WHERE instance_serial = %s AND group_serial = %s
                 RETURNING group_serial AS serial""",
        (group["group_name"], group["description"], instance_serial, group_serial))


def delete_group(conn, instance_serial: int, group_serial: int) -> Outcome:
    """Delete a group; its products stay, in no group."""
    return delete_named(conn, "product_groups", "group_serial", instance_serial, group_serial)

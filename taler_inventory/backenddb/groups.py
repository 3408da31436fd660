"""Database operations on product groups (named rows, :mod:`.named`)."""
from .named import NamedRows, write_named
from .outcome import Outcome

GROUPS = NamedRows("product_groups", "group", listed="description")

#: Create a group (CREATED, with its serial, or NAME_TAKEN).
insert_group = GROUPS.insert
#: One page of the instance's groups in serial order.
list_groups = GROUPS.list
#: Delete a group; its products stay, in no group.
delete_group = GROUPS.delete


def update_group(conn, instance_serial: int, group_serial: int, group: dict) -> Outcome:
    """Rename a group or change its description."""
    return write_named(
        conn, """UPDATE product_groups SET group_name = %s, description = %s
                  WHERE instance_serial = %s AND group_serial = %s
                 RETURNING group_serial AS serial""",
        (group["group_name"], group["description"], instance_serial, group_serial))

"""Database operations on instances and the per-request authentication lookup."""
from psycopg.types.json import Jsonb

INSTANCE_COLUMNS = """instance_serial, instance_id, name, password_hash, default_pay_delay,
    max_lock_duration, max_active_locks, settings, deleted"""


def lookup_instance_auth(conn, instance_id: str, token_hash: bytes | None):
    """Fetch an instance and, if given, the token with that hash, in one round trip.

    Returns None for an unknown instance, else a dict with the instance columns and
    ``token_serial``, ``token_hash``, ``scope``, ``expiration`` (NULL when no such
    token of this instance exists).
    """
    return conn.execute(
        """SELECT i.instance_serial, i.instance_id, i.name, i.default_pay_delay,
                   i.max_lock_duration, i.max_active_locks,
                   t.token_serial, t.token_hash, t.scope, t.expiration AS token_expiration
              FROM instances i
              LEFT JOIN tokens t
                ON t.token_hash = %(hash)s AND t.instance_serial = i.instance_serial
             WHERE i.instance_id = %(id)s AND NOT i.deleted""",
        {"id": instance_id, "hash": token_hash}).fetchone()


def lookup_instance(conn, instance_id: str):
    return conn.execute(f"SELECT {INSTANCE_COLUMNS} FROM instances WHERE instance_id = %s",
                        (instance_id,)).fetchone()


def insert_instance(conn, *, instance_id, name, password_hash, default_pay_delay,
                    max_lock_duration, max_active_locks, settings):
    """Insert an instance; return True, or False if the id exists already."""
    row = conn.execute(
        """INSERT INTO instances (instance_id, name, password_hash, default_pay_delay,
                                  max_lock_duration, max_active_locks, settings)
           VALUES (%s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (instance_id) DO NOTHING
           RETURNING instance_serial""",
        (instance_id, name, password_hash, default_pay_delay, max_lock_duration,
         max_active_locks, Jsonb(settings))).fetchone()
    return row is not None


def set_password(conn, instance_id: str, password_hash: str, *, create_name: str | None = None,
                 default_pay_delay: int = 0, max_lock_duration: int = 0) -> bool:
    """Set an instance's password and revoke its tokens; create it if ``create_name``.

    Returns True if the instance exists afterwards.
    """
    with conn.transaction():
        row = conn.execute(
            "UPDATE instances SET password_hash = %s WHERE instance_id = %s RETURNING instance_serial",
            (password_hash, instance_id)).fetchone()
        if row is None:
            if create_name is None:
                return False
            insert_instance(conn, instance_id=instance_id, name=create_name,
                            password_hash=password_hash, default_pay_delay=default_pay_delay,
                            max_lock_duration=max_lock_duration, max_active_locks=None,
                            settings={})
            return True
        conn.execute("DELETE FROM tokens WHERE instance_serial = %s", (row["instance_serial"],))
        return True


def list_instances(conn):
    return conn.execute(f"SELECT {INSTANCE_COLUMNS} FROM instances ORDER BY instance_serial").fetchall()


def update_instance(conn, instance_id: str, changes: dict) -> bool:
    """Apply column changes (and merge ``settings``) to a live instance."""
    columns = {k: v for k, v in changes.items() if k != "settings"}
    settings = changes.get("settings") or {}
    with conn.transaction():
        row = conn.execute("SELECT instance_serial FROM instances"
                           " WHERE instance_id = %s AND NOT deleted", (instance_id,)).fetchone()
        if row is None:
            return False
        if "max_active_locks" in columns:
            # Same order as the lock operations: advisory lock first, rows after.
            conn.execute("SELECT pg_advisory_xact_lock(%s)",
                         (instance_lock_key(row["instance_serial"]),))
        row = conn.execute(
            "SELECT instance_serial, max_active_locks FROM instances"
            " WHERE instance_serial = %s FOR UPDATE", (row["instance_serial"],)).fetchone()
        assignments = [f"{name} = %({name})s" for name in columns]
        assignments.append("settings = settings || %(settings)s")
        params = dict(columns, settings=Jsonb(settings), serial=row["instance_serial"])
        conn.execute(f"UPDATE instances SET {', '.join(assignments)}"
                     " WHERE instance_serial = %(serial)s", params)
        if "max_active_locks" in columns and columns["max_active_locks"] is not None \
                and row["max_active_locks"] is None:
            recount_active_locks(conn, row["instance_serial"])
        return True


def recount_active_locks(conn, instance_serial: int):
    """Recount the cart-lock rows of an instance once a cap is set.

    Lock operations keep ``active_locks`` only while a cap is set; they take a
    shared advisory lock on the instance, so the exclusive one the caller took
    waits for every lock operation in flight before counting.
    """
    conn.execute(
        """UPDATE instances SET active_locks =
             (SELECT count(*) FROM holds WHERE instance_serial = %(s)s AND lock_uuid IS NOT NULL)
           WHERE instance_serial = %(s)s""", {"s": instance_serial})


def instance_lock_key(instance_serial: int) -> int:
    """The advisory-lock key that guards an instance's ``active_locks`` counter."""
    return (0x6c6f636b << 32) | (instance_serial & 0xFFFFFFFF)


def delete_instance(conn, instance_id: str, *, purge: bool) -> bool:
    """Disable an instance (tokens revoked, data kept) or purge it with its data."""
    with conn.transaction():
        if purge:
            row = conn.execute("DELETE FROM instances WHERE instance_id = %s RETURNING 1",
                               (instance_id,)).fetchone()
            return row is not None
        row = conn.execute(
            "UPDATE instances SET deleted = TRUE WHERE instance_id = %s AND NOT deleted"
            " RETURNING instance_serial", (instance_id,)).fetchone()
        if row is None:
            return False
        conn.execute("DELETE FROM tokens WHERE instance_serial = %s", (row["instance_serial"],))
        return True

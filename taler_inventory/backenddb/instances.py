"""Database operations on instances and the per-request authentication lookup."""
from psycopg.types.json import Jsonb

from .. import talercrypto
from .outcome import Outcome, Status, matched

#: Every column a view may see.  Never ``merchant_priv``: only :func:`private_key`
#: reads it, for the one operation that signs.
INSTANCE_COLUMNS = """instance_serial, instance_id, name, password_hash, auth_method,
    merchant_pub, default_pay_delay, default_refund_delay, default_wire_transfer_delay,
    default_wire_transfer_rounding_interval, max_lock_duration, max_active_locks, settings,
    deleted"""

#: Columns set from a creation or reconfiguration request, besides ``settings``.
SETTING_COLUMNS = ("name", "default_pay_delay", "default_refund_delay",
                   "default_wire_transfer_delay", "default_wire_transfer_rounding_interval",
                   "max_lock_duration", "max_active_locks")


def lookup_instance_auth(conn, instance_id: str, token_hash: bytes | None):
    """Fetch an instance and, if given, the token with that hash, in one round trip.

    Returns None for an unknown instance, else a dict with the instance columns and
    ``token_serial``, ``token_hash``, ``scope``, ``expiration`` (NULL when no such
    token of this instance exists).
    """
    return conn.execute(
        """SELECT i.instance_serial, i.instance_id, i.name, i.default_pay_delay,
                   i.max_lock_duration, i.max_active_locks, i.auth_method,
                   t.token_serial, t.token_hash, t.scope, t.expiration AS token_expiration
              FROM instances i
              LEFT JOIN tokens t
                ON t.token_hash = %(hash)s AND t.instance_serial = i.instance_serial
             WHERE i.instance_id = %(id)s AND NOT i.deleted""",
        {"id": instance_id, "hash": token_hash}).fetchone()


def lookup_instance(conn, instance_id: str):
    return conn.execute(f"SELECT {INSTANCE_COLUMNS} FROM instances WHERE instance_id = %s",
                        (instance_id,)).fetchone()


def password_hash(conn, instance_serial: int) -> str | None:
    """The stored password hash, read only where a password is verified."""
    row = conn.execute("SELECT password_hash FROM instances WHERE instance_serial = %s",
                       (instance_serial,)).fetchone()
    return None if row is None else row["password_hash"]


def private_key(conn, instance_serial: int) -> bytes | None:
    """The instance's Ed25519 private seed (None once disabled), for signing only."""
    row = conn.execute("SELECT merchant_priv FROM instances WHERE instance_serial = %s",
                       (instance_serial,)).fetchone()
    return None if row is None else row["merchant_priv"]


def insert_instance(conn, *, instance_id, password_hash, settings, auth_method="token",
                    **columns) -> Outcome:
    """Insert an instance with a fresh key pair: CREATED, or CONFLICT if the id exists
    already (whether with the same settings is the caller's to tell).

    ``columns`` are the :data:`SETTING_COLUMNS` (``name`` required; the others fall
    back to the column defaults).
    """
    merchant_priv, merchant_pub = talercrypto.new_key_pair()
    values = {k: columns[k] for k in SETTING_COLUMNS if k in columns}
    values.update(instance_id=instance_id, password_hash=password_hash,
                  auth_method=auth_method, merchant_pub=merchant_pub,
                  merchant_priv=merchant_priv, settings=Jsonb(settings))
    names = ", ".join(values)
    placeholders = ", ".join(f"%({k})s" for k in values)
    row = conn.execute(
        f"""INSERT INTO instances ({names}) VALUES ({placeholders})
            ON CONFLICT (instance_id) DO NOTHING RETURNING instance_serial""",
        values).fetchone()
    return Outcome(Status.CREATED if row is not None else Status.CONFLICT)


def update_instance_auth(conn, instance_id: str, password_hash: str, *,
                         auth_method: str = "token", create_name: str | None = None,
                         default_pay_delay: int = 0, max_lock_duration: int = 0) -> Outcome:
    """Set an instance's credentials and revoke its tokens; create it if ``create_name``.

    OK, CREATED (by ``create_name``) or UNKNOWN.
    """
    with conn.transaction():
        row = conn.execute(
            """UPDATE instances SET password_hash = %s, auth_method = %s
                WHERE instance_id = %s RETURNING instance_serial""",
            (password_hash, auth_method, instance_id)).fetchone()
        if row is None:
            if create_name is None:
                return Outcome(Status.UNKNOWN)
            insert_instance(conn, instance_id=instance_id, name=create_name,
                            password_hash=password_hash, auth_method=auth_method,
                            default_pay_delay=default_pay_delay,
                            max_lock_duration=max_lock_duration, settings={})
            return Outcome(Status.CREATED)
        conn.execute("DELETE FROM tokens WHERE instance_serial = %s", (row["instance_serial"],))
        return Outcome(Status.OK)


def set_password(conn, instance_id: str, password_hash: str, **kwargs) -> Outcome:
    """The ``token`` method with a new password (see :func:`update_instance_auth`)."""
    return update_instance_auth(conn, instance_id, password_hash, **kwargs)


def list_instances(conn):
    """Every instance, with the payto types of its active bank accounts."""
    return conn.execute(
        f"""SELECT {INSTANCE_COLUMNS},
                   ARRAY(SELECT DISTINCT lower(split_part(substr(a.payto_uri, 9), '/', 1))
                           FROM instance_accounts a
                          WHERE a.instance_serial = instances.instance_serial AND a.active
                          ORDER BY 1) AS payment_targets
              FROM instances ORDER BY instance_serial""").fetchall()


def update_instance(conn, instance_id: str, changes: dict) -> Outcome:
    """Apply column changes (and merge ``settings``) to a live instance."""
    columns = {k: v for k, v in changes.items() if k != "settings"}
    settings = changes.get("settings") or {}
    with conn.transaction():
        row = conn.execute("SELECT instance_serial FROM instances"
                           " WHERE instance_id = %s AND NOT deleted", (instance_id,)).fetchone()
        if row is None:
            return Outcome(Status.UNKNOWN)
        if "max_active_locks" in columns:
            # Same order as the lock operations: advisory lock first, rows after
            # (the key is SQL's instance_lock_key, of 00-holds.sql).
            conn.execute("SELECT pg_advisory_xact_lock(instance_lock_key(%s))",
                         (row["instance_serial"],))
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
        return Outcome(Status.OK)


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


def delete_instance(conn, instance_id: str, *, purge: bool) -> Outcome:
    """Disable an instance (tokens revoked, private key erased, data kept) or purge it
    with its data."""
    with conn.transaction():
        if purge:
            row = conn.execute("DELETE FROM instances WHERE instance_id = %s RETURNING 1",
                               (instance_id,)).fetchone()
            return matched(row)
        row = conn.execute(
            "UPDATE instances SET deleted = TRUE, merchant_priv = NULL"
            " WHERE instance_id = %s AND NOT deleted RETURNING instance_serial",
            (instance_id,)).fetchone()
        if row is None:
            return Outcome(Status.UNKNOWN)
        conn.execute("DELETE FROM tokens WHERE instance_serial = %s", (row["instance_serial"],))
        return Outcome(Status.OK)


def add_missing_keys(conn) -> int:
    """Give every instance without a key pair a fresh one (instances made before keys
    existed); returns how many got one.  Run by ``dbinit``."""
    rows = conn.execute("SELECT instance_serial FROM instances WHERE merchant_pub IS NULL"
                        " FOR UPDATE").fetchall()
    for row in rows:
        merchant_priv, merchant_pub = talercrypto.new_key_pair()
        conn.execute("UPDATE instances SET merchant_pub = %s, merchant_priv = %s"
                     " WHERE instance_serial = %s",
                     (merchant_pub, merchant_priv, row["instance_serial"]))
    return len(rows)

"""Database operations on the bank accounts of an instance."""
from dataclasses import dataclass

from psycopg.types.json import Jsonb

from .outcome import Outcome, Status, matched

_DETAIL = """payto_uri, h_wire, salt, credit_facade_url, extra_wire_subject_metadata, active"""
#: What ``PATCH`` may change, and what must agree for a repeated ``POST``.
FACADE_FIELDS = ("credit_facade_url", "credit_facade_credentials",
                 "extra_wire_subject_metadata")


def _jsonb(changes: dict) -> dict:
    out = dict(changes)
    if out.get("credit_facade_credentials") is not None:
        out["credit_facade_credentials"] = Jsonb(out["credit_facade_credentials"])
    return out


@dataclass(frozen=True)
class AccountOutcome(Outcome):
    """An account added: the salt and hash it has (an existing account keeps its own)."""

    salt: bytes | None = None
    h_wire: bytes | None = None


def insert_account(conn, instance_serial: int, *, payto_uri: str, salt: bytes, h_wire: bytes,
                   details: dict) -> AccountOutcome:
    """Add an account, or find the same one again.

    CREATED, OK (active with the same details), REACTIVATED (was deleted; now active
    with these details, its salt and hash kept) or CONFLICT (active with other details).
    """
    values = {k: details.get(k) for k in FACADE_FIELDS}
    with conn.transaction():
        row = conn.execute(
            """INSERT INTO instance_accounts (instance_serial, payto_uri, salt, h_wire,
                   credit_facade_url, credit_facade_credentials, extra_wire_subject_metadata)
               VALUES (%(i)s, %(payto)s, %(salt)s, %(h)s, %(credit_facade_url)s,
                       %(credit_facade_credentials)s, %(extra_wire_subject_metadata)s)
               ON CONFLICT (instance_serial, payto_uri) DO NOTHING
               RETURNING salt, h_wire""",
            dict(_jsonb(values), i=instance_serial, payto=payto_uri, salt=salt,
                 h=h_wire)).fetchone()
        if row is not None:
            return AccountOutcome(Status.CREATED, salt=row["salt"], h_wire=row["h_wire"])
        row = conn.execute(
            f"""SELECT {_DETAIL}, credit_facade_credentials FROM instance_accounts
                 WHERE instance_serial = %s AND payto_uri = %s FOR UPDATE""",
            (instance_serial, payto_uri)).fetchone()
        if row["active"]:
            same = all(row[k] == values[k] for k in FACADE_FIELDS)
            return AccountOutcome(Status.OK if same else Status.CONFLICT, salt=row["salt"],
                                  h_wire=row["h_wire"])
        conn.execute(
            """UPDATE instance_accounts SET active = TRUE,
                   credit_facade_url = %(credit_facade_url)s,
                   credit_facade_credentials = %(credit_facade_credentials)s,
                   extra_wire_subject_metadata = %(extra_wire_subject_metadata)s
             WHERE instance_serial = %(i)s AND payto_uri = %(payto)s""",
            dict(_jsonb(values), i=instance_serial, payto=payto_uri))
        return AccountOutcome(Status.REACTIVATED, salt=row["salt"], h_wire=row["h_wire"])


def list_accounts(conn, instance_serial: int):
    return conn.execute(
        """SELECT payto_uri, h_wire, active FROM instance_accounts
            WHERE instance_serial = %s ORDER BY account_serial""",
        (instance_serial,)).fetchall()


def lookup_account(conn, instance_serial: int, h_wire: bytes):
    """An account of the instance (active or not); None if unknown.  Never the
    credit-facade credentials."""
    return conn.execute(
        f"SELECT {_DETAIL} FROM instance_accounts WHERE instance_serial = %s AND h_wire = %s",
        (instance_serial, h_wire)).fetchone()


def update_account(conn, instance_serial: int, h_wire: bytes, changes: dict) -> Outcome:
    """Change the credit-facade details of an account."""
    if not changes:
        found = lookup_account(conn, instance_serial, h_wire) is not None
        return Outcome(Status.OK if found else Status.UNKNOWN)
    assignments = ", ".join(f"{k} = %({k})s" for k in changes)
    row = conn.execute(
        f"""UPDATE instance_accounts SET {assignments}
             WHERE instance_serial = %(i)s AND h_wire = %(h)s RETURNING 1""",
        dict(_jsonb(changes), i=instance_serial, h=h_wire)).fetchone()
    return matched(row)


def delete_account(conn, instance_serial: int, h_wire: bytes) -> Outcome:
    """Delete an account: it stays, inactive, as contracts name its hash (UNKNOWN if no
    active account has this hash)."""
    row = conn.execute(
        """UPDATE instance_accounts SET active = FALSE
            WHERE instance_serial = %s AND h_wire = %s AND active RETURNING 1""",
        (instance_serial, h_wire)).fetchone()
    return matched(row)

"""Database operations on access tokens."""
from .outcome import Outcome, SerialOutcome, Status, matched
from .paging import page


def insert_token(conn, *, instance_serial, token_hash, scope, refreshable, creation_time,
                 expiration, description, legacy=False) -> SerialOutcome:
    row = conn.execute(
        """INSERT INTO tokens (instance_serial, token_hash, scope, refreshable,
                               creation_time, expiration, description, legacy)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING token_serial""",
        (instance_serial, token_hash, scope, refreshable, creation_time, expiration,
         description, legacy)).fetchone()
    return SerialOutcome(Status.CREATED, serial=row["token_serial"])


def delete_token(conn, instance_serial: int, token_serial: int, *,
                 listed_only=False) -> Outcome:
    """Revoke one token; ``listed_only``: only one ``GET /private/tokens`` shows."""
    row = conn.execute("DELETE FROM tokens WHERE instance_serial = %s AND token_serial = %s"
                       " AND NOT (%s AND legacy) RETURNING token_serial",
                       (instance_serial, token_serial, listed_only)).fetchone()
    return matched(row)


def list_tokens(conn, instance_serial: int, now: int, *, limit: int, offset: int | None):
    """Unexpired tokens of an instance, not the internal ones of the legacy credential;
    ``limit`` < 0 lists descending from ``offset``."""
    p = page("token_serial", limit, offset)
    return conn.execute(
        f"""SELECT token_serial AS serial, scope, refreshable, creation_time, expiration,
                   description
              FROM tokens WHERE instance_serial = %(instance)s AND expiration > %(now)s
                   AND NOT legacy AND {p.condition} {p.order}""",
        dict(p.params, instance=instance_serial, now=now)).fetchall()


def purge_expired_tokens(conn, now: int) -> int:
    return conn.execute("DELETE FROM tokens WHERE expiration <= %s", (now,)).rowcount

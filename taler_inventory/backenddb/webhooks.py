"""Database operations on webhooks and their outbox of deliveries.

The merchant's side (create, list, show, change, delete, the delivery record) and
the delivery worker's side (claim the due head of each webhook's queue, record an
attempt's outcome, the backlog).  Events are written by triggers
(sql/procedures/40-webhooks.sql), never here.
"""
from .outcome import Outcome, Status, matched
from .paging import page
from .rows import delete_row

_DETAILS = ("event_type", "url", "http_method", "header_template", "body_template")


def _details(body: dict) -> dict:
    return {key: body.get(key) for key in _DETAILS}


def insert_webhook(conn, instance_serial: int, body: dict) -> Outcome:
    """Create a webhook; the same id again is OK if identical, else CONFLICT."""
    params = {"instance": instance_serial, "webhook_id": body["webhook_id"], **_details(body)}
    with conn.transaction():
        row = conn.execute(
            """INSERT INTO webhooks (instance_serial, webhook_id, event_type, url,
                                     http_method, header_template, body_template)
               VALUES (%(instance)s, %(webhook_id)s, %(event_type)s, %(url)s,
                       %(http_method)s, %(header_template)s, %(body_template)s)
               ON CONFLICT (instance_serial, webhook_id) DO NOTHING
               RETURNING webhook_serial""", params).fetchone()
        if row is not None:
            return Outcome(Status.CREATED)
        old = lookup_webhook(conn, instance_serial, body["webhook_id"])
    if old is not None and all(old[k] == params[k] for k in _DETAILS):
        return Outcome(Status.OK)
    return Outcome(Status.CONFLICT)


def list_webhooks(conn, instance_serial: int):
    return conn.execute(
        """SELECT webhook_id, event_type FROM webhooks WHERE instance_serial = %s
            ORDER BY webhook_serial""", (instance_serial,)).fetchall()


def lookup_webhook(conn, instance_serial: int, webhook_id: str):
    return conn.execute(
        """SELECT webhook_serial, event_type, url, http_method, header_template,
                  body_template
             FROM webhooks WHERE instance_serial = %s AND webhook_id = %s""",
        (instance_serial, webhook_id)).fetchone()


def update_webhook(conn, instance_serial: int, webhook_id: str, body: dict) -> Outcome:
    """Replace a webhook's details (pending deliveries keep their events and go to
    the new URL with the new templates)."""
    row = conn.execute(
        """UPDATE webhooks
              SET event_type = %(event_type)s, url = %(url)s, http_method = %(http_method)s,
                  header_template = %(header_template)s, body_template = %(body_template)s
            WHERE instance_serial = %(instance)s AND webhook_id = %(webhook_id)s
           RETURNING 1""",
        {"instance": instance_serial, "webhook_id": webhook_id, **_details(body)}).fetchone()
    return matched(row)


def delete_webhook(conn, instance_serial: int, webhook_id: str) -> Outcome:
    """Delete a webhook with its deliveries, sent or not."""
    return delete_row(conn, "webhooks", "webhook_id", instance_serial, webhook_id)


def list_deliveries(conn, instance_serial: int, webhook_id: str, limit: int,
                    offset: int | None):
    """A page of a webhook's deliveries with their attempts; None if it is unknown."""
    hook = conn.execute("SELECT webhook_serial FROM webhooks WHERE instance_serial = %s"
                        " AND webhook_id = %s", (instance_serial, webhook_id)).fetchone()
    if hook is None:
        return None
    p = page("d.delivery_serial", limit, offset)
    return conn.execute(
        f"""SELECT d.delivery_serial, d.event_type, d.event_time,
                   d.delivered_time IS NOT NULL AS delivered,
                   d.delivered_time AS delivery_time,
                   CASE WHEN d.delivered_time IS NULL THEN d.next_attempt END
                     AS next_attempt,
                   d.attempts AS attempt_count,
                   ARRAY(SELECT jsonb_build_object(
                                  'attempt', a.attempt, 'time', a.attempt_time,
                                  'duration_us', a.duration_us,
                                  'http_status', a.http_status, 'error', a.error)
                           FROM webhook_attempts a
                          WHERE a.delivery_serial = d.delivery_serial
                          ORDER BY a.attempt) AS attempts
              FROM webhook_deliveries d
             WHERE d.webhook_serial = %(hook)s AND {p.condition} {p.order}""",
        {"hook": hook["webhook_serial"], **p.params}).fetchall()


# -- the delivery worker's side ---------------------------------------------------------

def claim_due(conn, now: int, lease_until: int, limit: int) -> list:
    """Take (until ``lease_until``) the due head of up to ``limit`` webhooks' queues.

    Only a queue's oldest undelivered row is ever a candidate, so a webhook's events
    go out one after the other, in the order they were recorded.  Rows another
    worker holds (its lease or its row lock) are skipped; the lease conditions are
    in the locking statement, so PostgreSQL checks them again on the newest row
    version and two workers never take the same row.
    """
    with conn.transaction():
        return conn.execute(
            """WITH heads AS (
                 SELECT h.delivery_serial
                   FROM webhooks w
                  CROSS JOIN LATERAL (
                        SELECT d.delivery_serial, d.next_attempt, d.claimed_until
                          FROM webhook_deliveries d
                         WHERE d.webhook_serial = w.webhook_serial
                           AND d.delivered_time IS NULL
                         ORDER BY d.delivery_serial LIMIT 1) h
                  WHERE h.next_attempt <= %(now)s
                    AND (h.claimed_until IS NULL OR h.claimed_until <= %(now)s)
                  LIMIT %(limit)s),
               mine AS (
                 SELECT d.delivery_serial FROM webhook_deliveries d
                  WHERE d.delivery_serial IN (SELECT delivery_serial FROM heads)
                    AND d.delivered_time IS NULL AND d.next_attempt <= %(now)s
                    AND (d.claimed_until IS NULL OR d.claimed_until <= %(now)s)
                    FOR UPDATE OF d SKIP LOCKED)
               UPDATE webhook_deliveries d SET claimed_until = %(lease)s
                 FROM mine, webhooks w
                WHERE d.delivery_serial = mine.delivery_serial
                  AND w.webhook_serial = d.webhook_serial
               RETURNING d.delivery_serial, d.webhook_serial, d.event_type, d.context,
                         d.attempts, w.url, w.http_method, w.header_template,
                         w.body_template""",
            {"now": now, "lease": lease_until, "limit": limit}).fetchall()


def record_attempt(conn, delivery_serial: int, *, now: int, duration_us: int,
                   http_status: int | None, error: str | None, delivered: bool,
                   retry_at: int) -> None:
    """Store an attempt's outcome; a failed one makes the delivery due at ``retry_at``."""
    with conn.transaction():
        row = conn.execute(
            """UPDATE webhook_deliveries
                  SET attempts = attempts + 1, claimed_until = NULL,
                      delivered_time = CASE WHEN %(ok)s THEN %(now)s END,
                      next_attempt = CASE WHEN %(ok)s THEN next_attempt ELSE %(retry)s END,
                      last_http_status = %(status)s, last_error = %(error)s
                WHERE delivery_serial = %(serial)s AND delivered_time IS NULL
               RETURNING attempts, instance_serial""",
            {"ok": delivered, "now": now, "retry": retry_at, "status": http_status,
             "error": error, "serial": delivery_serial}).fetchone()
        if row is None:
            return  # the webhook was deleted meanwhile (or another worker finished it)
        conn.execute(
            """INSERT INTO webhook_attempts (delivery_serial, instance_serial, attempt,
                                             attempt_time, duration_us, http_status, error)
               VALUES (%s, %s, %s, %s, %s, %s, %s)""",
            (delivery_serial, row["instance_serial"], row["attempts"], now, duration_us,
             http_status, error))


def retry_now(conn, now: int) -> int:
    """Make every undelivered delivery due now; the number of them."""
    return conn.execute(
        """UPDATE webhook_deliveries SET next_attempt = %s
            WHERE delivered_time IS NULL AND next_attempt > %s""", (now, now)).rowcount


def backlog(conn, now: int) -> dict:
    """Undelivered deliveries: all, due now, failed at least once; the oldest's age."""
    return conn.execute(
        """SELECT count(*) AS pending,
                  count(*) FILTER (WHERE next_attempt <= %(now)s) AS due,
                  count(*) FILTER (WHERE attempts > 0) AS failing,
                  min(event_time) AS oldest_event
             FROM webhook_deliveries WHERE delivered_time IS NULL""",
        {"now": now}).fetchone()


def backlog_by_webhook(conn) -> list:
    """Per webhook with undelivered events: instance, id, how many, the last error."""
    return conn.execute(
        """SELECT i.instance_id, w.webhook_id, w.url, count(*) AS pending,
                  max(d.attempts) AS attempts,
                  (array_agg(d.last_error ORDER BY d.delivery_serial))[1] AS last_error,
                  (array_agg(d.last_http_status ORDER BY d.delivery_serial))[1]
                    AS last_http_status,
                  min(d.next_attempt) AS next_attempt
             FROM webhook_deliveries d JOIN webhooks w USING (webhook_serial)
             JOIN instances i ON i.instance_serial = w.instance_serial
            WHERE d.delivered_time IS NULL
            GROUP BY i.instance_id, w.webhook_id, w.url
            ORDER BY i.instance_id, w.webhook_id""").fetchall()


def prune_delivered(conn, before: int) -> int:
    """Forget deliveries delivered before ``before`` (with their attempts)."""
    return conn.execute(
        "DELETE FROM webhook_deliveries WHERE delivered_time < %s", (before,)).rowcount

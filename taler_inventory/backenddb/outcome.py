"""What a database operation reports, in one convention for all of them.

* A lookup returns its row (a dict), or ``None`` when there is none.
* A listing returns a list of rows.
* Every other operation returns an :class:`Outcome` (or a subclass carrying what
  that operation adds, such as :class:`SerialOutcome`): its :class:`Status`, and
  for a refusal about one field of the request, the name of that field.
* Maintenance work that counts rows (``gc``, ``purge_expired_tokens``) returns the
  count.

The view maps a status that is not :attr:`Outcome.ok` onto an error with one table
per resource (see ``api/products.py``, ``_ERRORS`` and ``fail``).

A stored procedure reports the same status as text in ``out_status``; the enum's
values are those texts, so a status is spelled the same in SQL and Python.
"""
import enum
from dataclasses import dataclass


class Status(enum.StrEnum):
    """Every status a database operation can report, spelled as in SQL."""

    #: Done (or, for a repeated request with the same details, nothing to do).
    OK = "ok"
    CREATED = "created"
    #: A cart's existing lock of the product was set anew.
    REPLACED = "replaced"
    #: A deleted object of the same id is active again (a bank account).
    REACTIVATED = "reactivated"
    #: The object the request names does not exist.
    UNKNOWN = "unknown"
    #: Another object of the same id (or name) exists with other details.
    CONFLICT = "conflict"
    NAME_TAKEN = "name_taken"
    # -- in-operation authorization (SQL ``authorize``)
    UNKNOWN_INSTANCE = "unknown_instance"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    # -- products, units and stock
    CATEGORY_UNKNOWN = "category_unknown"
    GROUP_UNKNOWN = "group_unknown"
    POT_UNKNOWN = "pot_unknown"
    BUILTIN = "builtin"
    TOTALS_DIFFER = "totals_differ"
    STOCK_REDUCED = "stock_reduced"
    LOST_REDUCED = "lost_reduced"
    LOST_EXCEEDS_STOCK = "lost_exceeds_stock"
    PRECISION = "precision"
    BELOW_MINIMUM = "below_minimum"
    INSUFFICIENT = "insufficient"
    TOO_MANY_LOCKS = "too_many_locks"
    LOCKED = "locked"
    # -- orders
    PAID = "paid"
    UNPAID = "unpaid"
    CLAIMED = "claimed"
    CURRENCY = "currency"
    NOT_ALLOWED = "not_allowed"
    TOO_HIGH = "too_high"
    TOO_LATE = "too_late"
    #: A forget path names a field its object does not list as forgettable.
    NOT_FORGETTABLE = "not_forgettable"


@dataclass(frozen=True)
class Outcome:
    """The status of an operation; ``field`` names the culprit of a refusal."""

    status: Status
    field: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in _OK


_OK = frozenset((Status.OK, Status.CREATED, Status.REPLACED, Status.REACTIVATED))


def matched(row) -> Outcome:
    """The outcome of a change of one row that may not exist (an UPDATE or DELETE
    ... RETURNING): OK if it matched the row, else UNKNOWN."""
    return Outcome(Status.OK if row is not None else Status.UNKNOWN)


@dataclass(frozen=True)
class SerialOutcome(Outcome):
    """The outcome of an insertion that names its new row by serial."""

    serial: int | None = None

"""What the views of named rows (product groups, money pots) share.

Each kind's views stay in its own module (``api/groups.py``, ``api/pots.py``), named
after their URL; their bodies call the one implementation here, parametrized by the
kind's database rows (:class:`..backenddb.named.NamedRows`) and error table.
"""
from dataclasses import dataclass

from flask import g

from ..backenddb.named import NamedRows
from ..backenddb.outcome import Status
from ..db import get_db
from ..errors import ErrorCode, TalerError
from .common import path_serial


@dataclass(frozen=True)
class NamedResource:
    """A kind of named row as its views see it: ``…/private/<plural>[/<kind>_id]``."""

    rows: NamedRows
    plural: str
    errors: dict[Status, ErrorCode]

    def serial(self, text: str) -> int:
        """The id of the URL: digits, else 400/26 naming ``<kind>_id``."""
        return path_serial(text, f"{self.rows.kind}_id")

    def fail(self, status: Status, path_id: str | None, body: dict | None = None):
        """Raise the error of a failed operation: a taken name is detailed by the name,
        anything else by the id of the URL."""
        raise TalerError(self.errors[status], body[f"{self.rows.kind}_name"]
                         if status is Status.NAME_TAKEN else path_id)

    def listing(self, args: dict) -> dict:
        rows = get_db().run(self.rows.list, g.instance["instance_serial"], args["limit"],
                            args.get("offset"))
        return {self.plural: rows}

    def create(self, body: dict) -> dict:
        outcome = get_db().run(self.rows.insert, g.instance["instance_serial"], body)
        if not outcome.ok:
            self.fail(outcome.status, None, body)
        return {f"{self.rows.kind}_serial_id": outcome.serial}

    def update(self, operation, path_id: str, body: dict):
        """Run the kind's own update ``operation`` of the row the URL names."""
        outcome = get_db().run(operation, g.instance["instance_serial"], self.serial(path_id),
                               body)
        if not outcome.ok:
            self.fail(outcome.status, path_id, body)

    def delete(self, path_id: str):
        outcome = get_db().run(self.rows.delete, g.instance["instance_serial"],
                               self.serial(path_id))
        if not outcome.ok:
            self.fail(outcome.status, path_id)

"""Schemas of money pots."""
from marshmallow import ValidationError, fields, post_load, validate

from ..amount import Amount
from .common import AmountField, BaseSchema, Text, list_answer
from .groups import DESCRIPTION, NAME

TOTALS = {"validate": validate.Length(max=32)}


def _one_per_currency(totals: list[Amount], field: str) -> list[str]:
    if len({a.currency for a in totals}) != len(totals):
        raise ValidationError("must not list a currency twice", field)
    return [str(a) for a in totals]


class PotAddRequestSchema(BaseSchema):
    """``POST /private/pots``."""

    pot_name = Text(required=True, validate=NAME)
    description = Text(required=True, validate=DESCRIPTION)


class PotModifyRequestSchema(PotAddRequestSchema):
    """``PATCH /private/pots/$POT_ID``: name and description; totals only if sent."""

    expected_pot_totals = fields.List(AmountField(), **TOTALS)
    new_pot_totals = fields.List(AmountField(), **TOTALS)

    @post_load
    def _totals(self, data, **kwargs):
        for name in ("expected_pot_totals", "new_pot_totals"):
            if name in data:
                data[name] = _one_per_currency(data[name], name)
        return data


class PotAddedResponseSchema(BaseSchema):
    pot_serial_id = fields.Integer()


class PotEntrySchema(BaseSchema):
    pot_serial = fields.Integer()
    pot_name = fields.String()
    pot_totals = fields.List(fields.String())


PotsSummaryResponseSchema = list_answer("PotsSummaryResponseSchema", "pots", PotEntrySchema)


class PotDetailResponseSchema(BaseSchema):
    description = fields.String()
    pot_name = fields.String()
    pot_totals = fields.List(fields.String())

"""Wire types shared by every resource: strict scalars, ids, quantities, amounts, time."""
import re

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from .. import ids, stock
from .. import quantity as q
from ..amount import Amount, AmountError
from ..timeutil import FOREVER, US_PER_S, relative_to_wire, timestamp_to_wire


class BaseSchema(Schema):
    """Unknown fields are ignored: Taler clients send fields we do not use."""

    class Meta:
        unknown = EXCLUDE


def check_text(value: str) -> str:
    """Reject what PostgreSQL cannot store: NUL and unpaired surrogates."""
    if "\x00" in value:
        raise ValidationError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("must be valid Unicode (no unpaired surrogates)") from None
    return value


def check_json(value, depth=0):
    """Apply :func:`check_text` to every string (keys too) of a JSON value."""
    if depth > 32:
        raise ValidationError("nested too deeply")
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key)
            check_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_json(item, depth + 1)
    return value


class IdShape(validate.Validator):
    """An id with one of the shapes of :mod:`..ids` (the views check path ids with the
    same shapes); ``error`` says what the shape is."""

    def __init__(self, shape: re.Pattern, error: str):
        self.shape = shape
        self.error = error
        #: The shape as the OpenAPI document's (unanchored) JSON Schema ``pattern``.
        self.regex = re.compile(f"^(?:{shape.pattern})$")

    def __call__(self, value: str) -> str:
        if not ids.can_exist(self.shape, value):
            raise ValidationError(self.error)
        return value


class Text(fields.String):
    """A JSON string PostgreSQL can store (no NUL, no unpaired surrogates)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return check_text(super()._deserialize(value, attr, data, **kwargs))


class JsonObject(fields.Dict):
    """A JSON object stored as sent (JSONB): every string in it must be storable."""

    def _deserialize(self, value, attr, data, **kwargs):
        return check_json(super()._deserialize(value, attr, data, **kwargs))


class StrictInteger(fields.Integer):
    """A JSON integer: no strings, floats or booleans."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBoolean(fields.Boolean):
    """A JSON boolean: no strings or numbers."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class DecimalQuantity(fields.Field):
    """A DecimalQuantity string, loaded as an exact Decimal.

    With ``allow_unlimited`` the text ``"-1"`` loads as ``None`` (unlimited).
    """

    def __init__(self, *, allow_unlimited=False, **kwargs):
        super().__init__(**kwargs)
        self.allow_unlimited = allow_unlimited
        self.metadata.setdefault("type", "string")
        self.metadata.setdefault("pattern", r"^(-1|(0|[1-9][0-9]*)(\.[0-9]{1,6})?)$"
                                 if allow_unlimited else r"^(0|[1-9][0-9]*)(\.[0-9]{1,6})?$")

    def _deserialize(self, value, attr, data, **kwargs):
        if self.allow_unlimited and value == q.UNLIMITED_TEXT:
            return None
        try:
            return q.parse(value)
        except q.QuantityError as exc:
            raise ValidationError(str(exc)) from None

    def _serialize(self, value, attr, obj, **kwargs):
        return q.format(value)


class LegacyQuantity(StrictInteger):
    """The legacy integer twin of a quantity; ``-1`` is unlimited when allowed."""

    def __init__(self, *, allow_unlimited=False, **kwargs):
        super().__init__(**kwargs)
        self.allow_unlimited = allow_unlimited

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if self.allow_unlimited and value == -1:
            return -1
        if not 0 <= value <= q.MAX_INTEGER:
            raise ValidationError("must be an integer from 0 to 2^52-1"
                                  + (" or -1" if self.allow_unlimited else ""))
        return value


class AmountField(fields.Field):
    """An Amount string ``CUR:V[.F]``, loaded as :class:`Amount`."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.metadata.setdefault("type", "string")
        self.metadata.setdefault("pattern", r"^[A-Z]{1,11}:(0|[1-9][0-9]*)(\.[0-9]{1,8})?$")

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return Amount.parse(value)
        except AmountError as exc:
            raise ValidationError(str(exc)) from None

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)


class Timestamp(fields.Field):
    """Taler ``Timestamp`` ``{"t_s": <seconds> | "never"}``; loads as microseconds."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict) or "t_s" not in value:
            raise ValidationError('a Timestamp is {"t_s": <seconds> | "never"}')
        t_s = value["t_s"]
        if t_s == "never":
            return FOREVER
        if isinstance(t_s, bool) or not isinstance(t_s, int) or not 0 <= t_s < FOREVER // US_PER_S:
            raise ValidationError("t_s must be a non-negative integer of seconds or \"never\"")
        return t_s * US_PER_S

    def _serialize(self, value, attr, obj, **kwargs):
        return timestamp_to_wire(value)


class RelativeTime(fields.Field):
    """Taler ``RelativeTime`` ``{"d_us": <microseconds> | "forever"}``; loads as µs."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict) or "d_us" not in value:
            raise ValidationError('a RelativeTime is {"d_us": <microseconds> | "forever"}')
        d_us = value["d_us"]
        if d_us == "forever":
            return FOREVER
        if isinstance(d_us, bool) or not isinstance(d_us, int) or not 0 <= d_us < FOREVER:
            raise ValidationError("d_us must be a non-negative integer or \"forever\"")
        return d_us

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else relative_to_wire(value)


def merge_quantity(data: dict, unit_key: str, legacy_key: str, *, allow_unlimited=False,
                   default=None):
    """Combine a ``unit_X`` field and its legacy twin ``X`` into one Decimal.

    Returns the Decimal (None = unlimited), or ``default`` when neither is sent.
    Raises a ValidationError on ``unit_key`` when both are sent and disagree.
    """
    unit = data.pop(unit_key, _MISSING)
    legacy_value = data.pop(legacy_key, _MISSING)
    if legacy_value is not _MISSING:
        legacy_q = None if (allow_unlimited and legacy_value == -1) else q.from_legacy(legacy_value)
    if unit is _MISSING and legacy_value is _MISSING:
        return default
    if unit is _MISSING:
        return legacy_q
    if legacy_value is not _MISSING:
        if (unit is None) != (legacy_q is None) or (
                unit is not None and int(unit) != legacy_q):
            raise ValidationError(f"{unit_key} and {legacy_key} disagree", unit_key)
    return unit


_MISSING = object()


class QueryInteger(fields.Integer):
    """An integer in a query string: optional minus sign and digits, nothing else."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            text = value[1:] if value.startswith("-") else value
            if not text.isascii() or not text.isdigit() or len(text) > 19:
                raise self.make_error("invalid")
            value = int(value)
        return super()._deserialize(value, attr, data, **kwargs)


#: The rows of one page, upwards (positive) or downwards (negative).
PAGE_ROWS = validate.Range(min=-1000, max=1000)
#: A row's serial, or 0 where the field allows "none".
SERIAL = validate.Range(min=0, max=ids.MAX_SERIAL)
#: A serial that names a row.
ROW_SERIAL = validate.Range(min=1, max=ids.MAX_SERIAL)
#: How many fraction digits a unit or a product allows.
PRECISION_LEVEL = validate.Range(min=0, max=stock.MAX_PRECISION_LEVEL)


class PageQuerySchema(BaseSchema):
    """Pagination of every listing: ``limit`` (negative: descending from ``offset``)
    and ``offset``, the serial to start after."""

    limit = QueryInteger(load_default=20, validate=PAGE_ROWS)
    offset = QueryInteger(validate=SERIAL)


class NewestFirstPageQuerySchema(PageQuerySchema):
    """Paging whose default is the newest 20 (``limit=-20``), as Taler's groups and pots."""

    limit = QueryInteger(load_default=-20, validate=PAGE_ROWS)


def list_answer(name: str, key: str, entry: type[Schema], doc: str | None = None):
    """The schema class ``name`` of a listing's answer, ``{key: [entry, ...]}``.

    Every listing answers this one shape; the class name is the schema's name in the
    OpenAPI document, so it is spelled where the listing is declared.
    """
    return type(name, (BaseSchema,), {key: fields.List(fields.Nested(entry)), "__doc__": doc,
                                      "__module__": entry.__module__})

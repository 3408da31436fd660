"""JSON whose fractional numbers stay exactly as the client wrote them.

The body parser keeps a number with a fraction or an exponent as
:class:`JsonNumber` text (never a float); :func:`exact_dumps` writes it back as
sent, so JSONB stores it exactly and a request hash sees what the client sent.
"""
import json
import re
from decimal import Decimal


class JsonNumber(str):
    """A JSON number with a fraction or exponent, kept as written (never a float)."""


_PLACEHOLDER = re.compile(r'"\\u0000(\d+)\\u0000"')


def exact_dumps(value, **kwargs) -> str:
    """JSON text of ``value`` in which the :class:`JsonNumber` values stay exact.

    Stored strings never contain NUL (the schemas reject it), so the placeholder
    cannot clash.
    """
    numbers = []

    def mark(item):
        if isinstance(item, JsonNumber):
            numbers.append(str.__str__(item))
            return f"\x00{len(numbers) - 1}\x00"
        if isinstance(item, dict):
            return {k: mark(v) for k, v in item.items()}
        if isinstance(item, list):
            return [mark(v) for v in item]
        return item

    text = json.dumps(mark(value), separators=(",", ":"), **kwargs)
    return _PLACEHOLDER.sub(lambda m: numbers[int(m.group(1))], text) if numbers else text


def out_of_range(value, path: str) -> str | None:
    """The path of the first :class:`JsonNumber` in ``value`` that PostgreSQL's
    NUMERIC cannot store (exponent beyond ±1000), or None."""
    if isinstance(value, JsonNumber):
        return None if -1000 <= Decimal(value).adjusted() <= 1000 else path
    if isinstance(value, dict):
        items = ((f"{path}.{key}", item) for key, item in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{index}]", item) for index, item in enumerate(value))
    else:
        return None
    for item_path, item in items:
        found = out_of_range(item, item_path)
        if found is not None:
            return found
    return None

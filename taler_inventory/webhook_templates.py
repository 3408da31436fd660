"""Webhook event types, their template variables, and Mustache templates.

The merchant documentation names the event types and, per type, the variables
its ``header_template`` and ``body_template`` are expanded with.  A template is
checked when the webhook is created or changed: it must be valid Mustache, use no
partials (there are none), and name at its top level only variables its event
type has.  Objects and lists (``contract_terms``) expand to their JSON text; a
``{{name}}`` is HTML-escaped as Mustache says, ``{{{name}}}`` is not.
"""
import json

import chevron
from chevron.tokenizer import ChevronError, tokenize

_PRODUCT = frozenset({
    "product_serial", "product_id", "product_name", "description", "description_i18n",
    "unit", "unit_allow_fraction", "unit_precision_level", "image", "taxes", "price",
    "unit_price", "total_stock", "unit_total_stock", "total_sold", "unit_total_sold",
    "total_lost", "unit_total_lost", "address", "next_restock", "minimum_age"})
_CATEGORY = frozenset({"category_serial", "category_id", "category_name",
                       "category_name_i18n"})

#: Event type -> the variables of its templates (besides ``webhook_type``); None: the
#: type is accepted, but this module never produces it, so nothing is checked.
EVENT_TYPES = {
    "order_created": frozenset({"order_id", "contract_terms", "amount", "summary",
                                "timestamp"}),
    "pay": frozenset({"order_id", "contract_terms", "amount", "timestamp"}),
    "refund": frozenset({"timestamp", "order_id", "contract_terms", "refund_amount",
                         "reason"}),
    # Settlement is the exchange's wire transfer; this module takes no coins.
    "order_settled": None,
    "category_added": _CATEGORY,
    "category_updated": _CATEGORY,
    "category_deleted": _CATEGORY,
    "inventory_added": _PRODUCT,
    "inventory_updated": _PRODUCT,
    "inventory_deleted": _PRODUCT,
}
COMMON = frozenset({"webhook_type", "."})


def check_template(template: str, event_type: str) -> str | None:
    """Why ``template`` cannot serve ``event_type`` (a sentence), or None if it can."""
    variables = EVENT_TYPES.get(event_type)
    depth = 0
    try:
        for tag, key in tokenize(template):
            if tag == "partial":
                return f"names the partial {key!r}; webhook templates have none"
            if tag == "end":
                depth -= 1
                continue
            if tag in ("variable", "no escape", "section", "inverted section") \
                    and depth == 0 and variables is not None:
                name = key.split(".")[0]
                if key != "." and name not in variables and name not in COMMON:
                    return (f"names {key!r}, which {event_type} events do not have"
                            f" (they have {', '.join(sorted(variables | {'webhook_type'}))})")
            if tag in ("section", "inverted section"):
                depth += 1
    except ChevronError as err:
        return f"is not valid Mustache: {err}"
    if depth != 0:
        return "is not valid Mustache: a section is not closed"
    return None


class _JsonDict(dict):
    def __str__(self):
        return json.dumps(self, separators=(",", ":"), ensure_ascii=False)


class _JsonList(list):
    def __str__(self):
        return json.dumps(self, separators=(",", ":"), ensure_ascii=False)


def _wrap(value):
    if isinstance(value, dict):
        return _JsonDict((k, _wrap(v)) for k, v in value.items())
    if isinstance(value, list):
        return _JsonList(_wrap(v) for v in value)
    return value


def render(template: str | None, context: dict) -> str:
    """``template`` expanded with the event's variables ("" for no template)."""
    if not template:
        return ""
    return chevron.render(template, _wrap(context))


def parse_headers(text: str) -> list[tuple[str, str]]:
    """The headers of an expanded ``header_template``: a JSON object of names to
    values, or ``Name: value`` lines.  Lines without a name are skipped."""
    text = text.strip()
    if not text:
        return []
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return [(str(k), str(v)) for k, v in value.items() if _header_name(str(k))]
    headers = []
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and _header_name(name.strip()):
            headers.append((name.strip(), value.strip()))
    return headers


def _header_name(name: str) -> bool:
    return bool(name) and all(33 <= ord(c) < 127 and c not in "()<>@,;:\\\"/[]?={} "
                              for c in name)

"""The shapes of the ids that name things in URLs and bodies, each written once.

The schemas validate request bodies against these shapes (``schemas.common.IdShape``),
and the views check path segments with them (``api.common.known_id``): an id without
its shape cannot name anything, so it is unknown without asking the database (which
cannot even compare a string holding a NUL).
"""
import re

#: A product id, and the id of a unit or a webhook: 1 to 128 characters, no ``/``
#: (it is a path segment), no NUL.
PRODUCT_ID = UNIT_ID = WEBHOOK_ID = re.compile(r"[^/\x00]{1,128}")
#: Taler's order ids: letters, digits and ``.:_-``.
ORDER_ID = re.compile(r"[A-Za-z0-9.:_-]{1,128}")
#: A cart's lock UUID: 1 to 128 visible ASCII characters.
LOCK_UUID = re.compile(r"[\x21-\x7e]{1,128}")
#: An instance id: a letter or digit, then 1 to 127 of ``A-Za-z0-9_.@-``.
INSTANCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{1,127}")


#: The largest serial a row can bear (an INT8): the ids of categories, groups, pots,
#: tokens, and the ``offset`` of keyset paging.
MAX_SERIAL = 2**63 - 1


def can_exist(shape: re.Pattern, text: str) -> bool:
    """Whether ``text`` has the shape of an id, so that a row might bear it."""
    return shape.fullmatch(text) is not None

"""The shapes of the ids that name things in URLs and bodies, each written once.

The schemas validate request bodies against these shapes, and the views use them
on path segments: an id without its shape cannot name anything, so it is unknown
without asking the database (which cannot even compare a string holding a NUL).
"""
import re

#: A product id: 1 to 128 characters, no ``/`` (it is a path segment), no NUL.
PRODUCT_ID = re.compile(r"[^/\x00]{1,128}")
#: Taler's order ids: letters, digits and ``.:_-``.
ORDER_ID = re.compile(r"[A-Za-z0-9.:_-]{1,128}")
#: A cart's lock UUID: 1 to 128 visible ASCII characters.
LOCK_UUID = re.compile(r"[\x21-\x7e]{1,128}")
#: An instance id: a letter or digit, then at least one of ``A-Za-z0-9_.@-``.
INSTANCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]+")
#: Any other text id (units, webhooks): anything PostgreSQL can compare.
TEXT_ID = re.compile(r"[^\x00]+")


def can_exist(shape: re.Pattern, text: str) -> bool:
    """Whether ``text`` has the shape of an id, so that a row might bear it."""
    return shape.fullmatch(text) is not None

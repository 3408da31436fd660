"""The id shapes of :mod:`taler_inventory.ids`, as the schemas apply them."""
import pytest
from marshmallow import ValidationError

from taler_inventory import ids
from taler_inventory.schemas.common import IdShape


@pytest.mark.parametrize("shape, good, bad", [
    (ids.PRODUCT_ID, ["p", "x" * 128, "caf\u00e9 1"], ["", "x" * 129, "a/b", "a\x00b"]),
    (ids.LOCK_UUID, ["cart-1", "~!@$&'()*+,;=:/", "x" * 128],
     ["", "x" * 129, "a b", "caf\u00e9", "cart\n"]),
    (ids.INSTANCE_ID, ["shop1", "my.shop", "me@shop", "S" + "x" * 127],
     ["a", "-bad", "has/slash", "shop\n", "S" + "x" * 128, "a\x00b"]),
    (ids.ORDER_ID, ["o-1", "2026.12.01:x_y"], ["", "a b", "a/b", "x" * 129, "o\n"]),
])
def test_shapes(shape, good, bad):
    check = IdShape(shape, "malformed")
    for text in good:
        assert ids.can_exist(shape, text) and check(text) == text
    for text in bad:
        assert not ids.can_exist(shape, text)
        with pytest.raises(ValidationError, match="malformed"):
            check(text)


def test_the_openapi_pattern_is_the_shape_anchored():
    # JSON Schema patterns are not anchored: the document shows the whole-match form.
    assert IdShape(ids.PRODUCT_ID, "").regex.pattern == "^(?:" + ids.PRODUCT_ID.pattern + ")$"

"""Fixtures of the real-client tests: the shop server and the clients' own modules.

They live in ``tests/clients`` beside the code that stands the clients' frameworks in;
naming them here makes them fixtures of every end-to-end test module without each
module importing them.
"""
from tests.clients.frameworks import pretix_taler, tryton_taler  # noqa: F401  (fixtures)
from tests.clients.shop import legacy_shop, password_shop, server  # noqa: F401  (fixtures)

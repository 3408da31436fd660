"""Stand-ins for Django/pretix and trytond, just enough to import the Taler clients'
own modules (``pretix_taler.payment``, ``trytond.modules.account_payment_taler``) and
call their backend-talking code unchanged.

The clients are installed with ``pip install --no-deps`` (their frameworks are far too
big for a test run); nothing here touches HTTP: every request the clients make goes
through their own ``requests`` calls to the real server.
"""
import contextlib
import datetime
import http
import importlib
import importlib.util
import sys
import types

import pytest


class Anything:
    """A framework value the clients only build and pass around (form fields, view
    states, PYSON expressions); it absorbs every operation."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs

    def __call__(self, *args, **kwargs):
        return Anything(*args, **kwargs)

    def __getattr__(self, name):
        return Anything()

    def __eq__(self, other):
        return Anything()

    __ne__ = __or__ = __and__ = __eq__
    __hash__ = object.__hash__

    def __invert__(self):
        return Anything()


def _identity(func):
    return func


def _decorator_factory(*args, **kwargs):
    return _identity


def _module(name, **attrs):
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    return module


def _permissive_module(name, **attrs):
    """A module whose every other attribute is an :class:`Anything` factory."""
    module = _module(name, **attrs)
    module.__getattr__ = lambda attr: Anything
    return module


@contextlib.contextmanager
def _modules(stubs: dict, *imports: str):
    """Put ``stubs`` into ``sys.modules``, import ``imports``, and afterwards remove
    every module that was added, so no stand-in outlives the test."""
    before = dict(sys.modules)
    sys.modules.update(stubs)
    try:
        yield [importlib.import_module(name) for name in imports]
    finally:
        for name in set(sys.modules) - set(before):
            del sys.modules[name]
        sys.modules.update((name, before[name]) for name in stubs if name in before)


def _require(distribution: str, module: str):
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{distribution} is not installed "
                    f"(pip install --no-deps {distribution}; .ci/run does)")


# --- pretix ---------------------------------------------------------------------------

class ValidationError(Exception):
    pass


class PaymentException(Exception):
    pass


class _Manager:
    def __init__(self):
        self.created = []

    def create(self, **fields):
        self.created.append(fields)
        return fields


class _Model:
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.objects = _Manager()


class BasePaymentProvider:
    """pretix's provider base: the plugin reads ``self.event`` and ``self.settings``;
    its own ``settings_form_clean`` only adds checks to the base's."""

    def __init__(self, event, settings):
        self.event = event
        self.settings = settings

    def settings_form_clean(self, cleaned_data):
        return cleaned_data


class OrderPayment:
    PAYMENT_STATE_CREATED = "created"
    PAYMENT_STATE_PENDING = "pending"
    PAYMENT_STATE_CONFIRMED = "confirmed"
    PAYMENT_STATE_FAILED = "failed"
    PAYMENT_STATE_REFUNDED = "refunded"


class OrderRefund:
    REFUND_STATE_TRANSIT = "transit"
    REFUND_SOURCE_EXTERNAL = "external"


def _pretix_stubs():
    django = _module("django")
    stubs = {
        "django": django,
        "django.forms": _permissive_module("django.forms"),
        "django.core": _module("django.core"),
        "django.core.exceptions": _module("django.core.exceptions",
                                          ValidationError=ValidationError),
        "django.core.validators": _permissive_module("django.core.validators"),
        "django.http": _permissive_module("django.http"),
        "django.template": _module("django.template"),
        "django.template.loader": _permissive_module("django.template.loader"),
        "django.utils": _module("django.utils"),
        "django.utils.timezone": _module(
            "django.utils.timezone", now=lambda: datetime.datetime.now(datetime.UTC)),
        "django.utils.translation": _module("django.utils.translation",
                                            gettext_lazy=lambda text: text),
        "django.db": _module("django.db"),
        "django.db.models": _permissive_module("django.db.models", Model=_Model),
        "pretix": _module("pretix"),
        "pretix.base": _module("pretix.base"),
        "pretix.base.forms": _permissive_module("pretix.base.forms"),
        "pretix.base.models": _permissive_module("pretix.base.models", OrderPayment=OrderPayment,
                                                 OrderRefund=OrderRefund),
        "pretix.base.payment": _module("pretix.base.payment",
                                       BasePaymentProvider=BasePaymentProvider,
                                       PaymentException=PaymentException),
        "pretix.base.settings": _permissive_module("pretix.base.settings"),
        "pretix.multidomain": _module("pretix.multidomain"),
        "pretix.multidomain.urlreverse": _module(
            "pretix.multidomain.urlreverse",
            build_absolute_uri=lambda event, name, kwargs=None: f"https://shop.example/{name}",
            eventreverse=lambda event, name, kwargs=None: f"/{name}"),
    }
    django.forms = stubs["django.forms"]
    return stubs


@pytest.fixture
def pretix_taler():
    """The real ``pretix_taler.payment`` module, imported with pretix stood in for."""
    _require("pretix-taler", "pretix_taler")
    with _modules(_pretix_stubs(), "pretix_taler.payment") as (payment,):
        yield payment


# --- Tryton ---------------------------------------------------------------------------

class UserError(Exception):
    pass


class _Pool:
    """``Pool().get(name)`` answers the module's own model classes."""
    models = {}

    def get(self, name):
        return self.models[name]

    @staticmethod
    def register(*classes, **kwargs):
        pass


class _Config:
    @staticmethod
    def getint(section, option, default=None):
        return default

    @staticmethod
    def get(section, option, default=None):
        return default


class ModelView:
    button = staticmethod(_identity)
    button_action = staticmethod(_decorator_factory)

    @classmethod
    def __setup__(cls):
        cls._buttons = {}


class Workflow:
    transition = staticmethod(_decorator_factory)


class ModelSQL:
    pass


class DeactivableMixin:
    pass


class _State(Anything):
    pass


def _tryton_stubs():
    found = importlib.util.find_spec("trytond")
    trytond = _module("trytond")
    trytond.__path__ = list(found.submodule_search_locations)
    modules = _module("trytond.modules")
    modules.__path__ = [p + "/modules" for p in trytond.__path__]
    fields = _permissive_module("trytond.model.fields", depends=_decorator_factory)
    return {
        "trytond": trytond,
        "trytond.modules": modules,
        "trytond.config": _module("trytond.config", config=_Config()),
        "trytond.exceptions": _module("trytond.exceptions", UserError=UserError),
        "trytond.i18n": _module("trytond.i18n", gettext=lambda msgid, **kw: msgid),
        "trytond.model": _permissive_module(
            "trytond.model", ModelView=ModelView, ModelSQL=ModelSQL, Workflow=Workflow,
            DeactivableMixin=DeactivableMixin, dualmethod=_identity, fields=fields),
        "trytond.model.fields": fields,
        "trytond.modules.account_payment": _module("trytond.modules.account_payment"),
        "trytond.modules.account_payment.exceptions": _module(
            "trytond.modules.account_payment.exceptions", PaymentValidationError=UserError),
        "trytond.modules.company": _module("trytond.modules.company"),
        "trytond.modules.company.model": _permissive_module("trytond.modules.company.model"),
        "trytond.modules.currency": _module("trytond.modules.currency"),
        "trytond.modules.currency.fields": _permissive_module("trytond.modules.currency.fields"),
        "trytond.pool": _module("trytond.pool", Pool=_Pool, PoolMeta=type),
        "trytond.protocols": _module("trytond.protocols"),
        "trytond.protocols.wrappers": _permissive_module(
            "trytond.protocols.wrappers", HTTPStatus=http.HTTPStatus, with_pool=_identity,
            with_transaction=_decorator_factory),
        "trytond.pyson": _permissive_module("trytond.pyson"),
        "trytond.report": _permissive_module("trytond.report", Report=object),
        "trytond.sendmail": _permissive_module("trytond.sendmail"),
        "trytond.tools": _module("trytond.tools"),
        "trytond.tools.email_": _permissive_module("trytond.tools.email_"),
        "trytond.tools.qrcode": _permissive_module("trytond.tools.qrcode"),
        "trytond.transaction": _permissive_module("trytond.transaction"),
        "trytond.url": _module("trytond.url", http_host=lambda: "https://erp.example"),
        "trytond.wizard": _permissive_module(
            "trytond.wizard", Wizard=object, StateView=_State, StateTransition=_State,
            StateAction=_State, Button=_State),
        "trytond.wsgi": _module("trytond.wsgi", app=types.SimpleNamespace(
            route=_decorator_factory)),
    }


@pytest.fixture
def tryton_taler():
    """The real Tryton module ``account_payment_taler`` as a namespace with its
    ``payment`` and ``setupwizard`` modules; ``Pool().get`` knows its merchant account."""
    _require("trytoncommunity-account-payment-taler", "trytond.modules.account_payment_taler")
    with _modules(_tryton_stubs(), "trytond.modules.account_payment_taler.payment",
                  "trytond.modules.account_payment_taler.setupwizard") as (payment, wizard):
        _Pool.models = {"account.payment.taler.account": payment.TalerMerchantAccount}
        yield types.SimpleNamespace(payment=payment, setupwizard=wizard, UserError=UserError)
        _Pool.models = {}

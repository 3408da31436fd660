"""The ``taler-inventory`` command: serve, dbinit, passwd, gc, check."""
import secrets
import sys

import click

from . import config
from .backenddb import schema

ADMIN = "admin"


class Context:
    """Settings plus the database URL, starting the embedded server if needed."""

    def __init__(self):
        self.settings = config.from_env()
        self._embedded = None

    @property
    def url(self) -> str:
        if not self.settings["DATABASE_URL"]:
            from . import embedded
            self._embedded, self.settings["DATABASE_URL"] = embedded.start(self.settings["DATA_DIR"])
        return self.settings["DATABASE_URL"]


def _passwords(settings):
    from .auth import Passwords
    return Passwords(time_cost=settings["ARGON2_TIME_COST"],
                     memory_cost=settings["ARGON2_MEMORY_COST"])


def bootstrap_admin(ctx: Context, *, announce=True) -> str | None:
    """Create the admin instance, or reset its password from the environment.

    Returns the generated password when one had to be made up (first start
    without ``TALER_INVENTORY_ADMIN_PASSWORD``), else None.
    """
    import psycopg
    from psycopg.rows import dict_row

    from .backenddb import instances as instances_db
    from .timeutil import US_PER_S

    day = 24 * 3600 * US_PER_S
    password = ctx.settings["ADMIN_PASSWORD"]
    with psycopg.connect(ctx.url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute("SET search_path TO inventory")
        existing = instances_db.lookup_instance(conn, ADMIN)
        if password:
            # Unchanged password: keep the admin's tokens across restarts.
            if existing is None or not _passwords(ctx.settings).verify(
                    existing["password_hash"], password):
                instances_db.set_password(conn, ADMIN, _passwords(ctx.settings).hash(password),
                                          create_name="admin", default_pay_delay=day,
                                          max_lock_duration=day)
            return None
        if existing is not None:
            return None
        generated = secrets.token_urlsafe(18)
        instances_db.set_password(conn, ADMIN, _passwords(ctx.settings).hash(generated),
                                  create_name="admin", default_pay_delay=day,
                                  max_lock_duration=day)
        if announce:
            click.echo(f"Created the admin instance with the password: {generated}")
            click.echo("(shown once; change it with 'taler-inventory passwd')")
        return generated


@click.group()
@click.version_option(package_name="taler-inventory")
@click.pass_context
def main(click_ctx):
    """taler-inventory: products, exact stock locks and orders for GNU Taler."""
    try:
        click_ctx.obj = Context()
    except config.SettingError as err:
        raise click.ClickException(str(err)) from None


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9966, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="threads per worker process")
@click.pass_obj
def serve(ctx, host, port, workers, threads):
    """Serve the HTTP API with granian (applies the schema first)."""
    from . import create_app, reclaimer
    from .server import run

    url = ctx.url
    schema.dbinit(url)
    bootstrap_admin(ctx)
    app = create_app({"DATABASE_URL": url})
    sys.stdout.flush()
    # The background reclaimer of expired holds (taler_inventory/reclaimer.py).
    with reclaimer.running(url, interval=app.config["INVENTORY"]["RECLAIM_INTERVAL"]):
        run(app, host=host, port=port, workers=workers, threads=threads)


@main.command()
@click.option("--reset", is_flag=True, help="drop every table first (all data is lost)")
@click.pass_obj
def dbinit(ctx, reset):
    """Create or upgrade the database schema."""
    applied = schema.dbinit(ctx.url, reset=reset)
    bootstrap_admin(ctx)
    click.echo(f"schema up to date ({len(applied)} patches applied)")


@main.command()
@click.option("--instance", default=ADMIN, show_default=True)
@click.argument("password", required=False)
@click.pass_obj
def passwd(ctx, instance, password):
    """Set an instance's password (creates the admin instance if needed)."""
    import psycopg
    from psycopg.rows import dict_row

    from .backenddb import instances as instances_db
    from .timeutil import US_PER_S

    if not password:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    schema.dbinit(ctx.url)
    day = 24 * 3600 * US_PER_S
    with psycopg.connect(ctx.url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute("SET search_path TO inventory")
        ok = instances_db.set_password(
            conn, instance, _passwords(ctx.settings).hash(password),
            create_name="admin" if instance == ADMIN else None,
            default_pay_delay=day, max_lock_duration=day)
    if not ok:
        raise click.ClickException(f"unknown instance {instance!r}")
    click.echo(f"password of {instance} changed; its old tokens are revoked")


@main.command()
@click.pass_obj
def gc(ctx):
    """Reclaim expired locks, expired unpaid orders' stock and expired tokens."""
    from .backenddb import maintenance
    from .timeutil import now_us

    report = maintenance.gc(ctx.url, now_us())
    for key, value in report.items():
        click.echo(f"{key}: {value}")


@main.command()
@click.pass_obj
def check(ctx):
    """Verify stored counters and that no product is oversold; exit 1 if not."""
    from .backenddb import maintenance
    from .timeutil import now_us

    result = maintenance.check(ctx.url, now_us())
    for line in result.violations + result.warnings:
        click.echo(line)
    click.echo(f"checked {result.products} products of {result.instances} instances")
    if result.violations:
        sys.exit(1)
    click.echo("ok: every counter agrees and no product is oversold")

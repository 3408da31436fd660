"""The versioned schema: patches applied once and registered, procedures reloaded,
``dbinit`` idempotent, ``dbinit --reset``, and every table carrying its instance."""
import psycopg
import pytest

from taler_inventory.backenddb import schema

from ..support.threads import run_threads


def _catalog(url):
    """Everything dbinit creates, as comparable rows."""
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default"
            " FROM information_schema.columns WHERE table_schema = 'inventory'"
            " ORDER BY 1, 2").fetchall()
        constraints = conn.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE connamespace = 'inventory'::regnamespace"
            " ORDER BY 1, 2").fetchall()
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'inventory'"
            " ORDER BY 1").fetchall()
        routines = conn.execute(
            "SELECT p.proname, pg_get_function_identity_arguments(p.oid) FROM pg_proc p"
            " WHERE p.pronamespace = 'inventory'::regnamespace ORDER BY 1, 2").fetchall()
        patches = conn.execute(
            "SELECT patch_name FROM inventory.schema_patches ORDER BY 1").fetchall()
    return columns, constraints, indexes, routines, patches


def _initialized_with_instance(url, instance_id, name):
    """dbinit, then one instance row written by hand (does the next dbinit keep it?)."""
    schema.dbinit(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO inventory.instances (instance_id, name, password_hash,"
                     " default_pay_delay, max_lock_duration) VALUES (%s, %s, 'h', 0, 0)",
                     (instance_id, name))


def _patch_names():
    return [p.stem for p in schema.patch_files()]


def test_dbinit_applies_and_registers_every_patch(scratch_url):
    applied = schema.dbinit(scratch_url)
    assert applied == _patch_names()
    assert applied[0] == "inventory-0001"
    assert schema.current_patches(scratch_url) == _patch_names()
    with psycopg.connect(scratch_url) as conn:
        stamps = conn.execute("SELECT applied_at FROM inventory.schema_patches").fetchall()
    assert all(s[0] is not None for s in stamps)


def test_dbinit_twice_is_a_noop(scratch_url):
    _initialized_with_instance(scratch_url, "keep", "k")
    before = _catalog(scratch_url)
    assert schema.dbinit(scratch_url) == []
    assert _catalog(scratch_url) == before
    with psycopg.connect(scratch_url) as conn:
        assert conn.execute("SELECT instance_id FROM inventory.instances").fetchall() == [("keep",)]


def test_procedures_are_reloaded_on_every_init(scratch_url):
    schema.dbinit(scratch_url)
    routines = _catalog(scratch_url)[3]
    if not schema.procedure_files():
        pytest.skip("no stored procedures yet")
    assert routines, "the procedure files define routines"
    with psycopg.connect(scratch_url, autocommit=True) as conn:
        name, args = routines[0]
        conn.execute(f"DROP ROUTINE inventory.{name}({args})")
    schema.dbinit(scratch_url)
    assert _catalog(scratch_url)[3] == routines


def test_concurrent_dbinit_is_serialised(scratch_url):
    results = run_threads(lambda i: schema.dbinit(scratch_url), 3)
    assert sorted(map(len, results)) == [0, 0, len(_patch_names())]
    assert schema.current_patches(scratch_url) == _patch_names()


def test_dbinit_reset_drops_everything_and_rebuilds(scratch_url):
    _initialized_with_instance(scratch_url, "gone", "g")
    before = _catalog(scratch_url)
    assert schema.dbinit(scratch_url, reset=True) == _patch_names()
    assert _catalog(scratch_url) == before
    with psycopg.connect(scratch_url) as conn:
        assert conn.execute("SELECT count(*) FROM inventory.instances").fetchone() == (0,)


def test_dbinit_leaves_other_schemas_alone(scratch_url):
    with psycopg.connect(scratch_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.neighbour (x int)")
        conn.execute("INSERT INTO public.neighbour VALUES (1)")
    schema.dbinit(scratch_url, reset=True)
    with psycopg.connect(scratch_url) as conn:
        assert conn.execute("SELECT x FROM public.neighbour").fetchall() == [(1,)]


def test_every_table_carries_its_instance(database_url):
    with psycopg.connect(database_url) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'inventory'")}
        with_instance = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.columns"
            " WHERE table_schema = 'inventory' AND column_name = 'instance_serial'")}
    assert {"instances", "tokens"} <= tables
    # Of the whole database: the patch list and the totals of maintenance runs.
    assert tables - with_instance == {"schema_patches", "maintenance_totals"}


def test_patch_files_are_numbered_uniquely():
    # Numbers are reserved per line of work, so a gap is allowed until its patch lands.
    numbers = [int(name.split("-")[1]) for name in _patch_names()]
    assert numbers[0] == 1 and numbers == sorted(set(numbers))

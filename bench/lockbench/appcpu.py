"""CPU of one lock request inside the app (Flask, validation, the database call), no server.

    python -m lockbench.appcpu --database-url postgresql://postgres@127.0.0.1/postgres

(run from bench/).  Calls the WSGI app directly, one request after the other in
one thread, on one product: ``time.process_time`` per request is the app's own CPU
(waiting for PostgreSQL is not CPU), and a cProfile run splits it by layer.  The
server's share is what ``profile_lock.py`` measures for the whole process minus this.
"""
import argparse
import cProfile
import io
import json
import pstats
import sys
import time



#: Layers by the files their functions live in; the first match wins.
LAYERS = (
    ("psycopg and the pool", ("psycopg",)),
    ("marshmallow (schema load)", ("marshmallow",)),
    ("Flask and Werkzeug", ("flask", "werkzeug")),
    ("taler_inventory", ("taler_inventory",)),
)


def _environ(body: bytes, token: str) -> dict:
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/private/products/hot/lock",
        "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr, "wsgi.version": (1, 0), "wsgi.multithread": True,
        "wsgi.multiprocess": True, "wsgi.run_once": False, "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)), "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {token}", "REMOTE_ADDR": "127.0.0.1",
    }


def lock_requests(app, token: str, n: int, tag: str):
    """Send ``n`` locks of one unit (a new lock_uuid each) through the WSGI app."""
    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status[:3])

    for i in range(n):
        body = json.dumps({"lock_uuid": f"{tag}-{i}", "duration": {"d_us": 2_000_000},
                           "quantity": 1}).encode()
        for _ in app(_environ(body, token), start_response):
            pass
    bad = [s for s in statuses if s != "204"]
    if bad:
        raise SystemExit(f"{len(bad)} locks failed: {bad[:3]}")


def setup(url: str):
    """The app on ``url`` (schema applied) with a product "hot" and a token."""
    from taler_inventory import auth, create_app
    from taler_inventory.backenddb import schema

    schema.dbinit(url)
    app = create_app({"DATABASE_URL": url, "ADMIN_PASSWORD": "bench-cpu"})
    import psycopg
    token, token_hash = auth.new_token()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET search_path TO inventory")
        conn.execute("""INSERT INTO instances (instance_id, name, password_hash,
                            default_pay_delay, max_lock_duration)
                        VALUES ('admin', 'admin', 'x', 0, 9223372036854775807)
                        ON CONFLICT (instance_id) DO NOTHING""")
        serial = conn.execute("SELECT instance_serial FROM instances"
                              " WHERE instance_id = 'admin'").fetchone()[0]
        conn.execute("""INSERT INTO tokens (instance_serial, token_hash, scope, refreshable,
                            creation_time, expiration)
                        VALUES (%s, %s, 'all', FALSE, 0, 9223372036854775807)""",
                     (serial, token_hash))
        conn.execute("""INSERT INTO products (instance_serial, product_id, product_name,
                            description, unit, total_stock)
                        VALUES (%s, 'hot', 'hot', 'bench', 'piece', 1000000000000)
                        ON CONFLICT DO NOTHING""", (serial,))
    return app, token


def layer_of(filename: str) -> str:
    for name, patterns in LAYERS:
        if any(p in filename for p in patterns):
            return name
    return "Python and the rest (json, hashlib, threading, io)"


def measure(url: str, n: int) -> dict:
    app, token = setup(url)
    lock_requests(app, token, 200, "warm")  # pool, prepared statements, caches
    t0 = time.process_time()
    lock_requests(app, token, n, "timed")
    per_request_ms = (time.process_time() - t0) / n * 1000
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    lock_requests(app, token, n, "profiled")
    profiler.disable()
    stats = pstats.Stats(profiler)
    by_layer, total = {}, 0.0
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():
        by_layer[layer_of(filename)] = by_layer.get(layer_of(filename), 0.0) + tottime
        total += tottime
    out = io.StringIO()
    stats.stream = out
    stats.sort_stats("cumulative").print_stats(25)
    return {"requests": n, "app_cpu_ms_per_request": per_request_ms,
            "layers": {k: v / total for k, v in sorted(by_layer.items(), key=lambda kv: -kv[1])},
            "top": out.getvalue()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", action="store_true", help="print cProfile's top functions")
    args = parser.parse_args()
    result = measure(args.database_url, args.requests)
    print(f"app CPU per lock request: {result['app_cpu_ms_per_request']:.3f} ms"
          f" ({result['requests']} requests, one thread)")
    for name, share in result["layers"].items():
        print(f"  {share * 100:5.1f} %  {name}")
    if args.top:
        print(result["top"])



if __name__ == "__main__":
    main()

"""The benchmark's cases: the interleaved rounds, the flash sale, the soak, live locks at
scale and orders."""
import time

import psycopg

from taler_inventory.backenddb import maintenance

from . import log, procstat
from .database import count_live, live_batches, seed_live_locks, vacuum
from .load import merge, percentile, ratio, run_case
from .pgbench import pgbench
from .server import create_products

N_DISTINCT = 1000
SCALE_SIZES = (10, 100_000)
STALE_PRODUCT = "live-100000-unanalyzed"
CART_SIZES = (1, 5, 20)
FLASH_CLIENTS = 32
FLASH_UNITS = 1000
SOAK_S = 60.0


class Meter:
    """CPU seconds of the server's processes and of PostgreSQL, read around each slice.

    PostgreSQL's share is its whole process tree (every backend, also those of
    other databases on a shared server, and the WAL writer); it is measured only
    when the server runs on this machine.
    """

    def __init__(self, server, db_url):
        self.server_root = server.proc.pid
        with psycopg.connect(db_url) as conn:
            self.postmaster = procstat.postmaster_pid(conn)

    def read(self):
        server = procstat.cpu_seconds(procstat.server_pids(self.server_root))
        pg = procstat.tree_cpu_seconds(self.postmaster) if self.postmaster else None
        return server, pg

    def charge(self, piece, before):
        """Put the CPU used since ``before`` on the slice ``piece``."""
        after = self.read()
        piece["server_cpu_s"] = after[0] - before[0]
        if before[1] is not None:
            piece["pg_cpu_s"] = after[1] - before[1]


def run_flash_sale(api, base, db_url, args, tag, meter):
    """32 clients race for the last 1,000 units of one product: most get 410.

    Every request counts (no warm-up); nothing may be oversold, ``check`` must be
    clean, and "decided" counts the requests answered 204 or 410 per second.
    """
    create_products(api, ["flash"], stock=FLASH_UNITS)
    duration = max(args.duration, 4.0)
    log(f"  flash sale: {FLASH_CLIENTS} clients, {FLASH_UNITS:,} units, {duration:g} s ...")
    before = meter.read()
    piece = run_case("flash sale", {**base, "kind": "lock", "products": ["flash"],
                                    "lock_duration_us": 600 * 10**6, "count_all": True},
                     FLASH_CLIENTS, duration, args.gen_procs, f"{tag}-flash")
    meter.charge(piece, before)
    granted = len(piece["_raw"].get("req", []))
    refused = piece["errors"].get("req:410", 0)
    others = {k: v for k, v in piece["errors"].items() if k != "req:410"}
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            """SELECT p.reserved, p.total_stock, count(h.*) AS holds,
                      COALESCE(sum(h.quantity), 0) AS held
                 FROM inventory.products p
                 LEFT JOIN inventory.holds h ON h.product_serial = p.product_serial
                WHERE p.product_id = 'flash' GROUP BY p.reserved, p.total_stock""").fetchone()
    result = maintenance.check(db_url, time.time_ns() // 1000)
    latencies = sorted(piece["_raw"].get("req", []))
    return {"clients": FLASH_CLIENTS, "units": FLASH_UNITS, "duration_s": duration,
            "granted": granted, "refused_410": refused, "other_errors": others,
            "decided_per_s": (granted + refused) / duration,
            "granted_p50_ms": (percentile(latencies, 50) or 0) / 1000 if latencies else None,
            "holds": row[2], "held": int(row[3]), "reserved": int(row[0]),
            "oversold": int(row[3]) > FLASH_UNITS or granted > FLASH_UNITS,
            "check_violations": result.violations, "check_warnings": result.warnings,
            "server_cpu_ms_per_request": piece["server_cpu_s"] / max(piece["sent"], 1) * 1000,
            "pg_cpu_ms_per_request": (piece["pg_cpu_s"] / max(piece["sent"], 1) * 1000
                                      if "pg_cpu_s" in piece else None)}


def run_soak(base, server, args, tag, meter):
    """The server's memory before and after a minute of hot-product locks at 8 clients."""
    seconds = 10.0 if args.quick else SOAK_S
    pids = procstat.server_pids(server.proc.pid)
    rss_before = procstat.rss_mib(pids)
    log(f"  soak: {seconds:g} s of hot-product locks at 8 clients ...")
    before = meter.read()
    piece = run_case("soak", {**base, "kind": "lock", "products": ["hot"]}, 8, seconds,
                     args.gen_procs, f"{tag}-soak")
    meter.charge(piece, before)
    batches = live_batches(server.db_url, f"{tag}-soak-c")
    merged = merge([dict(piece, batches=batches)])
    rss_after = procstat.rss_mib(procstat.server_pids(server.proc.pid))
    return {"seconds": seconds, "rss_before_mib": rss_before, "rss_after_mib": rss_after,
            "rss_ratio": ratio(rss_after, rss_before), "per_s": merged.get("per_s"),
            "p50_ms": merged.get("p50_ms"), "p99_ms": merged.get("p99_ms"),
            "errors": merged.get("errors"),
            "server_cpu_ms_per_request": merged.get("server_cpu_ms_per_request"),
            "pg_cpu_ms_per_request": merged.get("pg_cpu_ms_per_request"),
            "mean_batch": merged.get("mean_batch")}


def run_scale(base, dbs, scale_products, args, tag, do_vacuum):
    """(4): single-client lock p50 with 10 and with 100,000 live locks on the product."""
    log("seeding live locks ...")
    for size, pid in zip(SCALE_SIZES, scale_products, strict=True):
        seed_live_locks(dbs.bench_url, base["token"], pid, size)
    # Alternate the two products in short slices so that drifting load hits both alike.
    rounds = 2 if args.quick else 4
    slice_s = max(1.0, args.duration / 2)
    pieces = {size: [] for size in SCALE_SIZES}
    for rnd in range(rounds):
        if do_vacuum:
            vacuum(dbs.bench_url)
        for size, pid in zip(SCALE_SIZES, scale_products, strict=True):
            log(f"  [{rnd + 1}/{rounds}] lock + release with {size:,} live locks ...")
            pieces[size].append(run_case(
                f"live-{size}", {**base, "kind": "lock_release", "products": [pid],
                                 "lock_duration_us": 3600 * 10**6},
                1, slice_s, 1, f"{tag}-live{size}-{rnd}"))
    scale = {"slices": rounds, "slice_s": slice_s, "cases": {}}
    for size, pid in zip(SCALE_SIZES, scale_products, strict=True):
        merged = merge(pieces[size])
        merged["slices_p50_ms"] = [
            percentile(sorted(p["_raw"].get("req", [])), 50) / 1000
            if p["_raw"].get("req") else None for p in pieces[size]]
        merged["live_locks"] = count_live(dbs.bench_url, pid)
        scale["cases"][str(size)] = merged
    a = scale["cases"][str(SCALE_SIZES[0])]["p50_ms"]
    b = scale["cases"][str(SCALE_SIZES[1])]["p50_ms"]
    scale["p50_ratio"] = ratio(b, a)

    # The same, but the 100,000 locks arrive after the last ANALYZE of holds: the
    # planner believes the product has next to no locks.
    stale_pid = STALE_PRODUCT
    log(f"seeding {SCALE_SIZES[1]:,} live locks without ANALYZE ...")
    seed_live_locks(dbs.bench_url, base["token"], stale_pid, SCALE_SIZES[1],
                    analyze=False)
    stale_pieces = {"10": [], "stale": []}
    for rnd in range(2):
        for key, pid in (("10", scale_products[0]), ("stale", stale_pid)):
            log(f"  [{rnd + 1}/2] lock + release, {key} ...")
            stale_pieces[key].append(run_case(
                f"live-{key}", {**base, "kind": "lock_release", "products": [pid],
                                "lock_duration_us": 3600 * 10**6},
                1, slice_s, 1, f"{tag}-stale{key}-{rnd}"))
    stale = {k: merge(v) for k, v in stale_pieces.items()}
    stale["stale"]["live_locks"] = count_live(dbs.bench_url, stale_pid)
    stale["p50_ratio"] = ratio(stale["stale"]["p50_ms"], stale["10"]["p50_ms"])
    scale["stale_statistics"] = stale
    return scale


def run_orders(api, base, products, args, tag, db_url, do_vacuum):
    """(5): order creation taking over 1-, 5- and 20-product carts."""
    cases = []
    for cart in CART_SIZES:
        for c in args.order_clients:
            if do_vacuum:
                vacuum(db_url)
            log(f"  orders, {cart}-product carts, {c} clients ...")
            piece = run_case(f"order, {cart}-product cart",
                             {**base, "kind": "order", "products": products, "cart": cart,
                              "lock_duration_us": 600 * 10**6},
                             c, args.duration, args.gen_procs, f"{tag}-o{cart}-{c}")
            r = merge([piece])
            r["cart_size"] = cart
            cases.append(r)
    return {"cases": cases}


def run_rounds(report, units, args, *, dbs, base, meter, tag, binary, workdir, nproc,
               do_vacuum):
    """(2) and (3): every case cut into ``args.rounds`` slices, interleaved per client
    count so that drifting machine load hits them alike; merged into ``report``."""
    slice_s = args.duration / args.rounds
    pieces = {}
    n_slices = 0
    for rnd in range(args.rounds):
        if do_vacuum:
            vacuum(dbs.bench_url)
        for c in args.clients:
            for order, (what, label, kind, payload_) in enumerate(units):
                log(f"  [{rnd + 1}/{args.rounds}] {label}, {c} clients ...")
                before = meter.read()
                if what == "pgbench":
                    piece = pgbench(binary, dbs.bench_url, payload_, c, slice_s, workdir,
                                    label, nproc)
                else:
                    piece = run_case(label, {**base, **payload_}, c, slice_s,
                                     args.gen_procs, f"{tag}-{n_slices}")
                meter.charge(piece, before)
                if kind in ("hot", "distinct"):
                    piece["batches"] = live_batches(dbs.bench_url, f"{tag}-{n_slices}-c")
                n_slices += 1
                pieces.setdefault((what, order, kind, c), []).append(piece)
    for (what, order, kind, _c), slices in pieces.items():
        merged = merge(slices)
        merged["kind"] = kind
        merged["_order"] = order
        report["pgbench" if what == "pgbench" else "http"].append(merged)


def http_units(skip, distinct):
    """The HTTP cases of (2) not in ``skip``: ("http", label, kind, spec)."""
    units = []
    if "config" not in skip:
        units.append(("http", "GET /config (no database)", "config", {"kind": "config"}))
    if "hot" not in skip:
        units.append(("http", "lock, ONE hot product", "hot",
                      {"kind": "lock", "products": ["hot"]}))
    if "distinct" not in skip:
        units.append(("http", f"lock, {len(distinct):,} distinct products", "distinct",
                      {"kind": "lock", "products": distinct}))
    return units

"""What a run prints and keeps: the table, and bench/results/<timestamp>.json."""
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from . import REPO, RESULTS
from .load import ratio
from .scenarios import SCALE_SIZES


def git_commit():
    try:
        out = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--",
                                "taler_inventory"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def loadavg():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def new_report(args) -> dict:
    """The report of this run before any figure: options, machine, commit."""
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
        "options": {"duration": args.duration, "rounds": args.rounds, "clients": args.clients,
                    "order_clients": args.order_clients, "workers": args.workers,
                    "threads": args.threads, "gen_procs": args.gen_procs,
                    "lock_duration_s": args.lock_duration, "server_env": args.server_env,
                    "vacuum": args.vacuum, "quick": args.quick},
        "machine": {"nproc": nproc, "cpu": cpu_model(), "python": platform.python_version(),
                    "load_before": loadavg()},
        "pgbench": [], "http": [],
    }


def fmt(value, spec):
    if value is None:
        width = spec.split(".")[0]
        return "-".rjust(int(width)) if width.isdigit() else "-"
    return format(value, spec)


def compute_ratios(report):
    """Each rate over the pgbench baselines of the same client count in the same run.

    /UPDATE: the bare hot-row ceiling; /lock_product: the SQL entry point of the lock
    endpoint (token check included) driven by pgbench on the same shape of load (hot
    product, or 1,000 products).
    """
    pg = {(r["kind"], r["clients"]): r.get("per_s") for r in report["pgbench"]}
    same_shape = {"hot": "lock", "distinct": "lock_distinct"}
    for r in report["http"] + report["pgbench"]:
        c = r["clients"]
        r["vs_pgbench_update"] = ratio(r.get("per_s"), pg.get(("update", c)))
        if r["kind"] in same_shape:
            r["vs_pgbench_lock_product"] = ratio(r.get("per_s"), pg.get((same_shape[r["kind"]], c)))


def print_report(report):
    out = []
    m = report["machine"]
    o = report["options"]
    pgi = m["postgresql"]
    out.append("")
    out.append(f"machine: {m['nproc']} CPUs ({m['cpu']}); load average before "
               f"{m['load_before']}, after {m.get('load_after')}")
    out.append(f"PostgreSQL {pgi['version']} (synchronous_commit={pgi['synchronous_commit']}, "
               f"fsync={pgi['fsync']}, autovacuum={pgi['autovacuum']}"
               f"{', embedded' if pgi['embedded'] else ''}); "
               f"{m.get('pgbench', 'pgbench: not found')}")
    out.append(f"server: taler-inventory serve --workers {o['workers']} "
               f"--threads {o['threads']}{' ' + str(o['server_env']) if o['server_env'] else ''}"
               f"; commit {report.get('commit')}")
    out.append(f"each case {o['duration']:g} s in {o['rounds']} interleaved slice(s); locks "
               f"last {o['lock_duration_s']:g} s (expired ones are reclaimed as it runs)")
    if report.get("vacuum_between_rounds"):
        out.append("autovacuum is off: the benchmark VACUUMs its tables before each round")
    out.append("one run on a shared machine: compare the ratios, not absolute numbers")
    out.append("")
    header = (f"{'case':<40} {'clients':>7} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8}  "
              f"{'/UPDATE':>8} {'/lock_product':>13} {'srv ms':>7} {'pg ms':>6} {'batch':>6}"
              f" {'CPU':>5}  errors")
    out.append(header)
    out.append("-" * len(header))
    rows = sorted(report["pgbench"] + report["http"],
                  key=lambda r: (0 if r in report["pgbench"] else 1, r["_order"], r["clients"]))
    for r in rows:
        errors = ", ".join(f"{k}={v}" for k, v in (r.get("errors") or {}).items())
        out.append(f"{r['case']:<40} {r['clients']:>7} {fmt(r.get('per_s'), '8.0f')} "
                   f"{fmt(r.get('p50_ms'), '8.2f')} {fmt(r.get('p99_ms'), '8.2f')}  "
                   f"{fmt(r.get('vs_pgbench_update'), '8.2f')} "
                   f"{fmt(r.get('vs_pgbench_lock_product'), '13.2f')} "
                   f"{fmt(r.get('server_cpu_ms_per_request'), '7.3f')} "
                   f"{fmt(r.get('pg_cpu_ms_per_request'), '6.3f')} "
                   f"{fmt(r.get('mean_batch'), '6.2f')} "
                   f"{fmt(r['cpu_busy'] * 100 if r.get('cpu_busy') is not None else None, '4.0f')}%"
                   f"  {errors}")
    out.append("  /UPDATE etc.: rate divided by the pgbench rate at the same client count;"
               " srv ms, pg ms: CPU of the server's processes and of PostgreSQL per request;"
               " batch: mean requests per lock transaction (sampled); CPU: the whole"
               " machine's CPU use while measuring")
    fs = report.get("flash_sale")
    if fs:
        out.append("")
        out.append(f"flash sale: {fs['clients']} clients race for the last {fs['units']:,} units"
                   f" of one product, {fs['duration_s']:g} s, every request counted")
        out.append(f"  granted {fs['granted']:,}, refused 410 {fs['refused_410']:,}, other "
                   f"{fs['other_errors'] or 'none'}; {fs['decided_per_s']:,.0f} decided "
                   f"requests/s; server CPU {fmt(fs['server_cpu_ms_per_request'], '.3f')} ms,"
                   f" PostgreSQL {fmt(fs['pg_cpu_ms_per_request'], '.3f')} ms per request")
        out.append(f"  held {fs['held']:,} in {fs['holds']:,} holds (reserved {fs['reserved']:,}):"
                   f" {'OVERSOLD' if fs['oversold'] else 'nothing oversold'}; check: "
                   f"{'; '.join(fs['check_violations']) or 'clean'}")
    sk = report.get("soak")
    if sk:
        out.append("")
        out.append(f"soak: {sk['seconds']:g} s of hot-product locks at 8 clients: "
                   f"{fmt(sk['per_s'], '.0f')}/s, p50 {fmt(sk['p50_ms'], '.2f')} ms, p99 "
                   f"{fmt(sk['p99_ms'], '.2f')} ms, batch {fmt(sk['mean_batch'], '.2f')}; "
                   f"server RSS {sk['rss_before_mib']:.0f} MiB before, "
                   f"{sk['rss_after_mib']:.0f} MiB after (x{fmt(sk['rss_ratio'], '.3f')},"
                   f" target <= 1.1)")
    all_cases = report["http"] + (report.get("orders") or {}).get("cases", [])
    for r in all_cases + report["pgbench"]:
        if r.get("error_sample"):
            out.append(f"  first error of '{r['case']}' at {r['clients']} clients: "
                       f"{r['error_sample']}")
    s = report.get("scale")
    if s:
        out.append("")
        out.append("live locks on the product (1 client; each step locks a new uuid, then "
                   "releases it):")
        for size in SCALE_SIZES:
            c = s["cases"][str(size)]
            rel = c.get("release") or {}
            out.append(f"  {size:>7,} live locks (counted: {c['live_locks']:,}): lock p50 "
                       f"{fmt(c['p50_ms'], '.2f')} ms, p99 {fmt(c['p99_ms'], '.2f')} ms; "
                       f"release p50 {fmt(rel.get('p50_ms'), '.2f')} ms; "
                       f"{fmt(c['per_s'], '.0f')} lock+release pairs/s")
        st = s.get("stale_statistics")
        if st:
            out.append(f"  {SCALE_SIZES[1]:>7,} live locks added after the last ANALYZE (counted: "
                       f"{st['stale']['live_locks']:,}): lock p50 "
                       f"{fmt(st['stale']['p50_ms'], '.2f')} ms, p99 "
                       f"{fmt(st['stale']['p99_ms'], '.2f')} ms; 10 live locks in the same "
                       f"slices: p50 {fmt(st['10']['p50_ms'], '.2f')} ms; ratio "
                       f"{fmt(st['p50_ratio'], '.2f')}")
        out.append(f"  ratio p50(100,000) / p50(10) = {fmt(s['p50_ratio'], '.3f')} "
                   f"(target <= 1.3); per-slice p50s: "
                   + "; ".join(f"{k}: " + " ".join(fmt(v, '.2f') for v in c["slices_p50_ms"])
                               for k, c in s["cases"].items()))
    od = report.get("orders")
    out.append("")
    if od is None:
        out.append("orders: skipped")
    else:
        out.append("orders: lock the cart's products under one uuid, then POST /private/orders"
                   " with lock_uuids")
        out.append(f"  {'cart':>5} {'clients':>7} {'orders/s':>9} {'p50 ms':>8} {'p99 ms':>8}"
                   f" {'cart locks p50 ms':>18}  errors")
        for r in od["cases"]:
            cart = r.get("cart") or {}
            errors = ", ".join(f"{k}={v}" for k, v in (r.get("errors") or {}).items())
            out.append(f"  {r['cart_size']:>5} {r['clients']:>7} {fmt(r.get('per_s'), '9.1f')} "
                       f"{fmt(r.get('p50_ms'), '8.2f')} {fmt(r.get('p99_ms'), '8.2f')} "
                       f"{fmt(cart.get('p50_ms'), '18.2f')}  {errors}")
        out.append("  orders/s: whole checkouts (cart locks + order) per second; p50/p99: the "
                   "order POST alone")
    print("\n".join(out), flush=True)


def strip_raw(report):
    for key in ("http", "pgbench"):
        for r in report.get(key, []):
            r.pop("_raw", None)
            r.pop("_order", None)
    for r in (report.get("orders") or {}).get("cases", []):
        r.pop("_raw", None)
    for r in (report.get("scale") or {}).get("cases", {}).values():
        r.pop("_raw", None)
    for r in ((report.get("scale") or {}).get("stale_statistics") or {}).values():
        if isinstance(r, dict):
            r.pop("_raw", None)


def write_results(report, *, keep_json=True):
    """The report without its raw latencies, as bench/results/<timestamp>.json."""
    strip_raw(report)
    if not keep_json:
        print(f"\n({report['elapsed_s']} s in all)")
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
    path = RESULTS / f"{stamp}.json"
    path.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nresults: {path.relative_to(REPO)} ({report['elapsed_s']} s in all)")

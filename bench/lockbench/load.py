"""The load: keep-alive clients in load-generator processes, and their figures."""
import collections
import multiprocessing
import random
import threading
import time

from .server import Client

MAX_REQUESTS_PER_SECOND = 20_000                 # per client: the bound of every loop


def lock_body(lock_uuid, duration_us, quantity=1):
    return {"lock_uuid": lock_uuid, "duration": {"d_us": duration_us}, "quantity": quantity}


def run_op(client, spec, ident, i, rng, out):
    """One operation of the case; appends (timer, µs, status, payload) to ``out``."""
    kind = spec["kind"]
    t0 = time.perf_counter()
    if kind == "config":
        status, payload = client.request("GET", "/config")
        out.append(("req", (time.perf_counter() - t0) * 1e6, status, payload))
    elif kind == "lock":
        products = spec["products"]
        product = products[0] if len(products) == 1 else products[rng.randrange(len(products))]
        status, payload = client.request("POST", f"/private/products/{product}/lock",
                                         lock_body(f"{ident}-{i}", spec["lock_duration_us"]))
        out.append(("req", (time.perf_counter() - t0) * 1e6, status, payload))
    elif kind == "lock_release":
        path = f"/private/products/{spec['products'][0]}/lock"
        uuid = f"{ident}-{i}"
        status, payload = client.request("POST", path, lock_body(uuid, spec["lock_duration_us"]))
        t1 = time.perf_counter()
        out.append(("req", (t1 - t0) * 1e6, status, payload))
        status, payload = client.request("POST", path,
                                         lock_body(uuid, spec["lock_duration_us"], 0))
        out.append(("release", (time.perf_counter() - t1) * 1e6, status, payload))
    elif kind == "order":
        uuid = f"{ident}-{i}"
        cart = sorted(rng.sample(spec["products"], spec["cart"]))
        for product in cart:
            status, payload = client.request("POST", f"/private/products/{product}/lock",
                                             lock_body(uuid, spec["lock_duration_us"]))
            if status != 204:
                out.append(("cart_lock", (time.perf_counter() - t0) * 1e6, status, payload))
                return
        t1 = time.perf_counter()
        out.append(("cart", (t1 - t0) * 1e6, 204, b""))
        body = {"order": {"summary": f"bench order {uuid}", "order_id": f"o-{uuid}"},
                "inventory_products": [{"product_id": p, "quantity": 1} for p in cart],
                "lock_uuids": [uuid], "create_token": False}
        status, payload = client.request("POST", "/private/orders", body)
        out.append(("req", (time.perf_counter() - t1) * 1e6, status, payload))
    else:
        raise ValueError(kind)


def client_thread(spec, ident, start_at, stop_at, results, index):
    """Warm up until ``start_at``, then record operations until ``stop_at``."""
    rng = random.Random(ident)
    client = Client(spec["port"], spec.get("token"))
    max_ops = int((stop_at - time.time()) * MAX_REQUESTS_PER_SECOND) + 100
    if spec.get("count_all"):
        start_at = 0  # no warm-up: every request counts (the flash sale)
    timers = {}
    ok = {}
    bad = {}
    sample = None
    i = 0
    try:
        # Until start_at: warm-up (the keep-alive connection, the server's pool
        # connections).  Every operation that ends inside [start_at, stop_at] counts,
        # so the rate is completions per second of the window, without bias at its
        # edges.
        while i < max_ops:
            if time.time() >= stop_at:
                break
            out = []
            run_op(client, spec, ident, i, rng, out)
            i += 1
            end = time.time()
            if end < start_at or end > stop_at:
                continue
            for name, us, status, payload in out:
                if 200 <= status < 300:
                    timers.setdefault(name, []).append(us)
                    ok[name] = ok.get(name, 0) + 1
                else:
                    key = f"{name}:{status}"
                    bad[key] = bad.get(key, 0) + 1
                    if sample is None:
                        sample = f"{key} {payload[:300].decode('utf-8', 'replace')}"
    finally:
        client.close()
    results[index] = {"timers": timers, "ok": ok, "bad": bad, "sample": sample, "sent": i}


def process_main(spec, idents, start_at, stop_at, queue):
    results = [None] * len(idents)
    threads = [threading.Thread(target=client_thread,
                                args=(spec, ident, start_at, stop_at, results, k), daemon=True)
               for k, ident in enumerate(idents)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=stop_at - time.time() + 120)
    queue.put([r for r in results if r is not None])


def percentile(sorted_values, p):
    """Nearest-rank percentile of an already sorted list (None when empty)."""
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100 * (len(sorted_values) - 1)))))
    return sorted_values[k]


def summarize(values_us, duration):
    values = sorted(values_us)
    n = len(values)
    return {"count": n, "per_s": n / duration if duration else None,
            "p50_ms": percentile(values, 50) / 1000 if n else None,
            "p99_ms": percentile(values, 99) / 1000 if n else None,
            "mean_ms": sum(values) / n / 1000 if n else None}


def cpu_times():
    """(busy, total) jiffies of all CPUs of the machine, or None off Linux."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)   # idle + iowait
    return sum(fields) - idle, sum(fields)


def cpu_busy(before, after):
    if before is None or after is None or after[1] == before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def run_case(name, spec, clients, duration, gen_procs, tag):
    """One slice: ``clients`` keep-alive clients in up to ``gen_procs`` processes.

    Returns the raw latencies (``_raw``, µs per timer); :func:`merge` makes figures.
    """
    procs = max(1, min(clients, gen_procs))
    idents = [f"{tag}-c{c}" for c in range(clients)]
    groups = [idents[p::procs] for p in range(procs)]
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    start_at = time.time() + 1.0 + 0.05 * procs     # warm-up and start-up
    stop_at = start_at + duration
    workers = [ctx.Process(target=process_main, args=(spec, g, start_at, stop_at, queue),
                           daemon=True) for g in groups]
    for w in workers:
        w.start()
    collected = []
    busy = None
    try:
        # The whole machine's CPU use over the measured window (others' load included).
        time.sleep(max(0.0, start_at - time.time()))
        before = cpu_times()
        time.sleep(max(0.0, stop_at - time.time()))
        busy = cpu_busy(before, cpu_times())
        for _ in workers:
            remaining = max(1.0, stop_at - time.time() + 150)
            collected.extend(queue.get(timeout=remaining))
    finally:
        for w in workers:
            w.join(timeout=10)
            if w.is_alive():
                w.terminate()
                w.join(timeout=5)
    timers, bad, sent = {}, {}, 0
    for r in collected:
        for k, v in r["timers"].items():
            timers.setdefault(k, []).extend(v)
        for k, v in r["bad"].items():
            bad[k] = bad.get(k, 0) + v
        sent += r["sent"]
    if clients != len(collected):
        bad["client_threads_lost"] = clients - len(collected)
    samples = [r["sample"] for r in collected if r.get("sample")]
    return {"case": name, "clients": clients, "gen_procs": procs, "duration_s": duration,
            "_raw": timers, "errors": bad, "error_sample": samples[0] if samples else None,
            "cpu_busy": busy, "sent": sent}


def merge(slices):
    """Figures of one case from its slices (all latencies pooled, rates over total time)."""
    first = slices[0]
    duration = sum(s["duration_s"] for s in slices)
    raw, errors = {}, {}
    for s in slices:
        for k, v in s["_raw"].items():
            raw.setdefault(k, []).extend(v)
        for k, v in s["errors"].items():
            errors[k] = errors.get(k, 0) + v
    result = {"case": first["case"], "clients": first["clients"], "duration_s": duration,
              "slices": len(slices)}
    if "tps" in first:
        # pgbench: its own tps (without connection time), weighted by slice length.
        tps = [(s["tps"], s["duration_s"]) for s in slices if s.get("tps") is not None]
        summary = summarize(raw.get("req", []), duration)
        summary["per_s"] = (sum(t * d for t, d in tps) / sum(d for _, d in tps)) if tps else None
        result.update(summary)
        result["slices_per_s"] = [s.get("tps") for s in slices]
    else:
        result.update(summarize(raw.get("req", []), duration))
        result["slices_per_s"] = [len(s["_raw"].get("req", [])) / s["duration_s"]
                                  for s in slices]
        for extra in ("release", "cart"):
            if extra in raw:
                result[extra] = summarize(raw[extra], duration)
    busy = [s["cpu_busy"] for s in slices if s.get("cpu_busy") is not None]
    result["cpu_busy"] = sum(busy) / len(busy) if busy else None
    sent = sum(s.get("sent") or 0 for s in slices)
    for key in ("server_cpu_s", "pg_cpu_s"):
        if all(key in s for s in slices) and sent:
            result[key.replace("_s", "_ms_per_request")] = (
                sum(s[key] for s in slices) / sent * 1000)
    batches = collections.Counter()
    for s in slices:
        batches.update(s.get("batches") or {})
    if batches:
        result["batches"] = {str(k): v for k, v in sorted(batches.items())}
        result["mean_batch"] = (sum(k * v for k, v in batches.items())
                                / sum(batches.values()))
    result["errors"] = errors
    sample = next((s["error_sample"] for s in slices if s.get("error_sample")), None)
    if sample:
        result["error_sample"] = sample
    return result


def ratio(a, b):
    if a is None or not b:
        return None
    return a / b

"""pgbench on the same machine in the same run: the database ceilings of a lock."""
import glob
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from taler_inventory import auth

from . import log
from .load import cpu_busy, cpu_times


PGBENCH_UPDATE = """\
UPDATE pgbench_hot SET reserved = reserved + 1 WHERE id = 1 AND reserved + 1 <= stock;
"""

PGBENCH_LOCK = """\
\\set r random(1, 1000000000000)
SELECT out_status
  FROM lock_product('admin', '{product}', '{scopes}',
                    (extract(epoch FROM clock_timestamp()) * 1000000)::int8,
                    '\\x{token_hash}'::bytea, 'pgb-' || :client_id || '-' || :r, 1, {duration});
"""

PGBENCH_LOCK_DISTINCT = """\
\\set r random(1, 1000000000000)
\\set p random(0, {n_distinct_1})
SELECT out_status
  FROM lock_product('admin', 'p' || lpad(:p::text, 4, '0'), '{scopes}',
                    (extract(epoch FROM clock_timestamp()) * 1000000)::int8,
                    '\\x{token_hash}'::bytea, 'pgd-' || :client_id || '-' || :r, 1, {duration});
"""

#: The SQL entry point of the lock endpoint (token check included) against the
#: ceiling of any lock on one product.
PGBENCH_CASES = (
    ("pgbench: UPDATE one hot row", "update", PGBENCH_UPDATE),
    ("pgbench: lock_product(), hot product", "lock", PGBENCH_LOCK),
    ("pgbench: lock_product(), 1,000 products", "lock_distinct", PGBENCH_LOCK_DISTINCT),
)


def pgbench(binary, url, script, clients, duration, workdir, label, nproc):
    """One pgbench slice with a custom script (-T whole seconds, per-transaction log)."""
    seconds = max(1, int(round(duration)))
    d = Path(tempfile.mkdtemp(prefix="pgbench-", dir=workdir))
    script_path = d / "script.sql"
    script_path.write_text(script)
    prefix = d / "log"
    cmd = [str(binary), "-n", "-f", str(script_path), "-c", str(clients),
           "-j", str(max(1, min(clients, nproc))), "-T", str(seconds),
           "-l", "--log-prefix", str(prefix), url]
    env = dict(os.environ, PGOPTIONS="-c search_path=inventory,public")
    result = {"case": label, "clients": clients, "duration_s": seconds, "_raw": {},
              "errors": {}, "tps": None}
    try:
        before = cpu_times()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True,
                              timeout=seconds + 120, cwd=d)
        result["cpu_busy"] = cpu_busy(before, cpu_times())
    except subprocess.TimeoutExpired:
        result["errors"]["timeout"] = 1
        return result
    if proc.returncode != 0:
        result["errors"]["pgbench_failed"] = 1
        result["error_sample"] = proc.stderr.strip()[-300:]
        return result
    for line in proc.stdout.splitlines():
        if line.startswith("tps = "):
            result["tps"] = float(line.split()[2])
    latencies = []
    for path in glob.glob(str(prefix) + "*"):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3:
                    latencies.append(float(parts[2]))     # µs
    result["_raw"]["req"] = latencies
    result["sent"] = len(latencies)
    shutil.rmtree(d, ignore_errors=True)
    return result


def pgbench_units(dbs, token, lock_us, n_distinct):
    """The pgbench cases of this run, ready to interleave with the HTTP ones:
    (binary, its version, [("pgbench", label, kind, script)]); no binary, no cases."""
    bindir = dbs.bin_dir()
    binary = bindir / "pgbench" if bindir else None
    if binary is None or not binary.exists():
        log("pgbench not found: no database baseline")
        return None, "pgbench: not found", []
    with psycopg.connect(dbs.bench_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.pgbench_hot (id INT PRIMARY KEY,"
                     " stock INT8 NOT NULL, reserved INT8 NOT NULL)")
        conn.execute("INSERT INTO public.pgbench_hot VALUES (1, %s, 0)", (10**15,))
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                             timeout=10).stdout.strip()
    values = {"product": "pgbench-hot", "duration": lock_us,
              "n_distinct_1": n_distinct - 1,
              "scopes": " ".join(auth.scopes_granting("products-lock")),
              "token_hash": hashlib.sha256(token.encode()).hexdigest()}
    return binary, version, [("pgbench", label, kind, script.format(**values))
                             for label, kind, script in PGBENCH_CASES]

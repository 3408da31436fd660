"""The README's two commands, run as written in a clean copy of the source tree.

With the system Python of Debian when there is one (``/usr/bin/python3``, which
refuses ``pip install`` outside a virtual environment), else with this Python: the
README promises both work.  The only changes: ``serve`` gets a free ``--port`` (tests
never take a fixed one) and the test command runs one small test file, not the
whole suite inside the suite.
"""
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.server import free_port, stop_leftover_postgres

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.rst"


def _readme_commands() -> tuple[str, str]:
    lines = [line.strip() for line in README.read_text().splitlines()]
    install = next(line for line in lines if line.startswith("python3 -m venv")
                   and line.endswith("taler-inventory serve"))
    test = next(line for line in lines if line.startswith("python3 -m venv")
                and line.endswith("-m pytest"))
    return install, test


def _python3() -> str:
    system = Path("/usr/bin/python3")
    managed = list(Path("/usr/lib").glob("python3*/EXTERNALLY-MANAGED"))
    return str(system) if system.exists() and managed else sys.executable


@pytest.fixture
def source_copy(tmp_path):
    tree = tmp_path / "taler-inventory"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tree / name)
    bin_dir = tmp_path / "bin"  # "python3" on PATH is the Python under test
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(_python3())
    data_dir = Path(f"/tmp/taler-inventory-readme-{os.getpid()}")
    yield tree, {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path),
                 "TALER_INVENTORY_DATA_DIR": str(data_dir), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    stop_leftover_postgres(data_dir / "pgdata")
    shutil.rmtree(data_dir, ignore_errors=True)


def test_readme_commands_work_as_written(source_copy):
    tree, env = source_copy
    install, test = _readme_commands()
    port = free_port()
    serve = subprocess.Popen(["bash", "-c", f"{install} --port {port}"], cwd=tree, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             start_new_session=True)
    try:
        deadline = time.monotonic() + 540
        while time.monotonic() < deadline and serve.poll() is None:
            try:
                if requests.get(f"http://127.0.0.1:{port}/config", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(1)
        assert serve.poll() is None, serve.stdout.read()
        assert requests.get(f"http://127.0.0.1:{port}/config", timeout=5).json()["name"] \
            == "taler-merchant"
    finally:
        os.killpg(serve.pid, 15)
        output = serve.communicate(timeout=60)[0]
    assert re.search(r"password: \S+", output), output
    assert f"listening on http://127.0.0.1:{port}" in output
    small = test.replace("-m pytest",
                         "-m pytest -q -p no:cacheprovider tests/unit/test_quantity.py")
    result = subprocess.run(["bash", "-c", small], cwd=tree, env=env, capture_output=True,
                            text=True, timeout=540)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert " passed" in result.stdout

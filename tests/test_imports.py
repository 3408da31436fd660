"""What importing the command line brings along."""
import subprocess
import sys


def test_the_command_line_imports_no_metrics_before_serve_configures_them():
    # prometheus-client reads PROMETHEUS_MULTIPROC_DIR when it is first imported, and
    # ``serve`` sets it only after the command line has been imported.
    code = ("import sys, taler_inventory.cli; "
            "print(sorted(m for m in ('prometheus_client', 'taler_inventory.metrics')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"

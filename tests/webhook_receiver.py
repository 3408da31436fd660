"""A webhook receiver for the tests: a real HTTP server in its own process.

``python -m tests.webhook_receiver PORT LOG [--status N] [--hang SECONDS]`` answers
every request with status N (200) after SECONDS (0) and appends one JSON line per
request to LOG: method, path, headers, body, the status answered.  :class:`Receiver`
starts, stops and restarts it on the same port, and reads what arrived.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.server import free_port


class Receiver:
    """The receiver process on ``port``; what it got is in ``log``."""

    def __init__(self, tmp_path: Path, port: int | None = None):
        self.port = port or free_port()
        self.log = tmp_path / f"received-{self.port}.jsonl"
        self.log.touch()
        self.proc = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, status: int = 200, hang: float = 0.0):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.webhook_receiver", str(self.port), str(self.log),
             "--status", str(status), "--hang", str(hang)],
            cwd=Path(__file__).resolve().parents[1], stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("the receiver did not start")

    def stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def requests(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.requests()
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"{len(self.requests())} of {count} requests arrived")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("log")
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--hang", type=float, default=0.0)
    args = parser.parse_args()

    class Handler(BaseHTTPRequestHandler):
        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            if args.hang:
                time.sleep(args.hang)
            entry = {"method": self.command, "path": self.path,
                     "headers": dict(self.headers.items()), "body": body,
                     "status": args.status, "time": time.time()}
            with open(args.log, "a") as log:
                log.write(json.dumps(entry) + "\n")
                log.flush()
                os.fsync(log.fileno())
            self.send_response(args.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()

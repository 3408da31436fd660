"""Run the app on granian, with the request read before a thread is spent on it.

granian speaks HTTP in Rust (hyper on tokio): a connection that sends nothing, or
drips its head, costs a socket and no Python thread, and the head has a deadline
(``HEAD_TIMEOUT``).  The app is a WSGI app whose views block on the database, so it
runs on a pool of ``--threads`` threads per worker process.  :class:`WsgiBridge`
connects the two over granian's RSGI interface: it reads the whole body on the event
loop, within ``BODY_TIMEOUT`` and the size limit, and only then hands the complete
request to a thread, which runs the app and sends the answer itself.  A slow client
therefore costs a connection, never a worker (doc/design.rst, "HTTP server").

The app is created once in the master process (schema and admin bootstrap happen
before); the worker processes are forked from it and each opens its own connection
pool lazily.
"""
import asyncio
import collections
import io
import json
import logging
import signal
import sys
import threading

from . import longpoll
from .errors import malformed, wire_error

log = logging.getLogger(__name__)

#: The longest request target (path and query) accepted: 414 above (gunicorn's limit).
MAX_TARGET = 4094
#: The longest single header field (name and value) accepted: 431 above.
MAX_FIELD = 8190
#: Extra room a compressed body may take on the wire (see ``api.common.raw_body``).
COMPRESSED_SLACK = 1024
#: Seconds a stopping worker gives requests in flight.
GRACEFUL_TIMEOUT = 10
#: Requests that need no database run on a lane of threads of their own, so that they
#: answer while every request thread waits on a sick database.
NO_DATABASE_PATHS = frozenset({"/config", "/openapi.json"})
NO_DATABASE_PREFIX = "/webui/"
NO_DATABASE_THREADS = 2
#: Requests a worker takes on beside its parked long polls (granian's backpressure).
ACTIVE_REQUESTS = 512


class BodyError(Exception):
    """The request body could not be read: its framing broke or the client stopped."""


class _Lane:
    """Threads that run the WSGI app for requests taken from one queue.

    The thread that ran a request sends its answer itself (granian's
    ``response_bytes`` may be called from any thread), so an answer never waits for
    the event loop; the loop only learns afterwards that the run is over, through
    :meth:`WsgiBridge._finished`.  A run that the view parked (a long poll) is not
    answered: the loop parks the request and runs it again.
    """

    def __init__(self, bridge, threads: int, name: str):
        self._mutex = threading.Lock()
        self._jobs = collections.deque()  # requests no thread has taken yet
        self._idle = []  # the waiting threads' slots, the one that waited last on top
        self.threads = [threading.Thread(target=self._work, args=(bridge,),
                                         name=f"{name}_{i}", daemon=True)
                        for i in range(threads)]
        for thread in self.threads:
            thread.start()

    def put(self, job):
        """Hand ``job`` to the thread that became idle last (its caches are warm,
        and the fewest threads take turns), or queue it when all are busy."""
        with self._mutex:
            if self._idle:
                slot = self._idle.pop()
                slot[1] = job
                slot[0].release()
                return
            self._jobs.append(job)

    def _get(self, slot):
        with self._mutex:
            if self._jobs:
                return self._jobs.popleft()
            self._idle.append(slot)
        slot[0].acquire()  # released by put() with the job in the slot
        return slot[1]

    def _work(self, bridge):
        call, finished, get = bridge._call, bridge._finished, self._get
        slot = [threading.Lock(), None]
        slot[0].acquire()
        while (job := get(slot)) is not None:
            proto, environ, park, done = job
            try:
                status, headers, data = call(environ)
                if not park:
                    proto.response_bytes(status, headers, data)
            except Exception:  # noqa: BLE001 - never leave a request without an answer
                log.exception("unexpected error in the HTTP bridge")
                park.clear()
                _send_wire_error(proto, 500, "")
            finally:
                finished(done)

    def stop(self):
        """Let the threads finish what is queued, then end them."""
        for _ in self.threads:
            self.put(None)
        for thread in self.threads:
            thread.join()


class WsgiBridge:
    """An RSGI application that runs a WSGI application on a thread pool.

    ``max_body`` bounds what is read into memory: a body announced larger is not
    read at all, a chunked body is read up to one byte more, and the WSGI app (which
    knows the limit) answers 413 seeing that.
    """

    def __init__(self, app, *, threads: int, max_body: int, body_timeout: float):
        self.app = app
        self.threads = threads
        self.max_body = max_body
        self.body_timeout = body_timeout
        self.pool = self.lane = self.loop = None
        self._done = collections.deque()  # futures of finished runs, for the loop
        self._wake_pending = False
        self.hub = longpoll.get_hub(app)
        self.closing = False
        self.parked = set()  # the futures parked requests await
        self.base_environ = {
            "SCRIPT_NAME": "", "wsgi.version": (1, 0), "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
            "SERVER_SOFTWARE": "taler-inventory",
        }

    def __rsgi_init__(self, loop):
        # In the worker process, after the fork.
        self.loop = loop
        self.pool = _Lane(self, self.threads, "request")
        self.lane = _Lane(self, NO_DATABASE_THREADS, "no-database")
        self.hub.start()
        self._hook_stop_signals(loop)

    def __rsgi_del__(self, loop):
        self.hub.stop()
        self.pool.stop()
        self.lane.stop()
        try:
            self._drain()
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass

    def _finished(self, done):
        """From a request thread: the run of ``done`` is over (answered or parked).

        The event loop is woken once for all the runs that finish before it gets to
        them, not once per run.
        """
        self._done.append(done)
        if not self._wake_pending:
            self._wake_pending = True
            try:
                self.loop.call_soon_threadsafe(self._drain)
            except RuntimeError:  # the loop is closed (shutdown): nobody waits any more
                pass

    def _drain(self):
        """On the event loop: resume the coroutines whose runs are over."""
        self._wake_pending = False
        done = self._done
        while done:
            _settle(done.popleft())

    def _hook_stop_signals(self, loop):
        """Answer the parked long polls at once when the worker is told to stop.

        granian's worker stops on SIGTERM/SIGINT through a handler on the event loop
        and then waits for the requests in flight: a parked request would hold the
        stop for its whole timeout.  Ours runs first and wakes them all.
        """
        handlers = getattr(loop, "_signal_handlers", {})
        for sig in (signal.SIGTERM, signal.SIGINT):
            handle = handlers.get(sig)
            if handle is None:
                continue

            def on_signal(handle=handle):
                self.stop_waiting()
                handle._callback(*handle._args)

            loop.add_signal_handler(sig, on_signal)

    def stop_waiting(self):
        """No more parking: every parked request answers what it sees now."""
        self.closing = True
        for future in list(self.parked):
            if not future.done():
                future.set_result(None)

    async def __rsgi__(self, scope, proto):
        try:
            await self._serve(scope, proto)
        except Exception:
            log.exception("unexpected error in the HTTP bridge")
            _send_wire_error(proto, 500, "")

    async def _serve(self, scope, proto):
        rejected = self._check_head(scope)
        if rejected is not None:
            return _send_wire_error(proto, *rejected)
        headers = scope.headers
        body = b""
        if "transfer-encoding" in headers or headers.get("content-length", "0") != "0":
            try:
                async with asyncio.timeout(self.body_timeout):
                    body = await self._read_body(headers, proto)
            except TimeoutError:
                return _send_body_error(proto, f"the body did not arrive within "
                                               f"{self.body_timeout:g} s")
            except BodyError as exc:
                return _send_body_error(proto, str(exc))
        environ = self._environ(scope, headers, body)
        path = scope.path
        threads = self.lane if path in NO_DATABASE_PATHS or path.startswith(
            NO_DATABASE_PREFIX) else self.pool
        environ[longpoll.ARRIVAL] = longpoll.clock()
        await self._run(threads, environ, body, proto)

    async def _run(self, threads, environ, body: bytes, proto):
        """Run the request on a thread, which answers it; while the view parks it (a
        long poll whose answer would be negative), wait off-thread for its wake-up
        and run it again.  A client that left while parked gets no answer.

        This coroutine lives until the answer is sent: granian answers 500 for a
        request whose coroutine ends unanswered.
        """
        loop = self.loop
        while True:
            park = {}
            if self.closing:
                environ[longpoll.NO_WAIT] = True
                environ.pop(longpoll.PARK, None)
            else:
                environ[longpoll.PARK] = park
            environ["wsgi.input"] = io.BytesIO(body)
            done = loop.create_future()
            threads.put((proto, environ, park, done))
            await done
            if not park:
                return  # answered by the thread
            if not await self._park(loop, park, environ, proto):
                return

    async def _park(self, loop, park: dict, environ, proto) -> bool:
        """Wait for a notification of the parked keys or the deadline, holding no
        thread; False when the client went away meanwhile."""
        future = loop.create_future()

        def wake():  # on the listener thread
            loop.call_soon_threadsafe(_settle, future)

        token = self.hub.register(park["keys"], wake, park["started"])
        if token is None:  # LONG_POLL_MAX_WAITERS wait already: answer now
            environ[longpoll.NO_WAIT] = True
            return True
        if token == "now":
            return True
        self.parked.add(future)
        gone = asyncio.ensure_future(proto.client_disconnect())
        try:
            if self.closing:
                return True
            await asyncio.wait((future, gone), timeout=park["deadline"] - longpoll.clock(),
                               return_when=asyncio.FIRST_COMPLETED)
            return not gone.done()
        finally:
            self.hub.unregister(token)
            self.parked.discard(future)
            gone.cancel()

    def _check_head(self, scope):
        """The limits of the head that hyper does not enforce itself (414, 431)."""
        if len(scope.path) + len(scope.query_string) > MAX_TARGET:
            return 414, f"the request target is longer than {MAX_TARGET} bytes"
        for name, value in scope.headers.items():
            if len(name) + len(value) > MAX_FIELD:
                return 431, f"header {name[:40]} is longer than {MAX_FIELD} bytes"
        return None

    async def _read_body(self, headers, proto) -> bytes:
        if "transfer-encoding" not in headers:
            # hyper enforces the announced length, so this read is bounded.
            if int(headers["content-length"]) > self.max_body:
                return b""  # not read: the app answers 413 from the announced length
            try:
                return await proto()
            except Exception as exc:  # granian's "transport closed": the client left
                raise BodyError(f"the request body could not be read: {exc}") from None
        chunks, size = [], 0
        pieces = proto.__aiter__()
        while chunk := await _next(pieces):
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_body:
                break
        else:
            # granian yields an empty piece at the end, and also for a broken chunk
            # or for trailers, each followed by one more empty piece: only a lone
            # empty piece is the normal end.
            if await _next(pieces) is not None:
                raise BodyError("the chunked request body is malformed")
        return b"".join(chunks)

    def _environ(self, scope, headers, body: bytes) -> dict:
        environ = dict(self.base_environ)
        environ["REQUEST_METHOD"] = scope.method
        # PEP 3333: the (decoded) path as latin-1 code points of its bytes.
        environ["PATH_INFO"] = scope.path.encode("utf-8").decode("latin-1")
        environ["QUERY_STRING"] = scope.query_string
        environ["SERVER_PROTOCOL"] = "HTTP/" + scope.http_version
        environ["SERVER_NAME"], environ["SERVER_PORT"] = _split_address(scope.server)
        environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = _split_address(scope.client)
        environ["wsgi.url_scheme"] = scope.scheme
        environ["wsgi.input"] = io.BytesIO(body)
        announced = headers.get("content-length")
        environ["CONTENT_LENGTH"] = announced if announced and not body else str(len(body))
        for name, value in headers.items():
            if name == "content-type":
                environ["CONTENT_TYPE"] = value
            elif name not in ("content-length", "transfer-encoding"):
                key = "HTTP_" + name.upper().replace("-", "_")
                environ[key] = f"{environ[key]},{value}" if key in environ else value
        return environ

    def _call(self, environ):
        """Run the WSGI app in a pool thread; return (status, headers, body)."""
        started = []

        def start_response(status, headers, exc_info=None):
            started[:] = [int(status[:3]), headers]

        try:
            result = self.app(environ, start_response)
            try:
                data = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception:  # the app renders its own errors; this is a last resort
            log.exception("unexpected error outside the application")
            status, body = wire_error(500, "")
            return status, _JSON, body
        return started[0], started[1], data


_JSON = [("Content-Type", "application/json")]


def _settle(future):
    if not future.done():
        future.set_result(None)


async def _next(pieces) -> bytes | None:
    """The next piece of a streamed body; None after the end."""
    try:
        return await pieces.__anext__()
    except StopAsyncIteration:
        return None


def _split_address(address: str) -> tuple[str, str]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), port


def _send_wire_error(proto, status: int, message: str):
    status, body = wire_error(status, message)
    proto.response_bytes(status, _JSON + [("Connection", "close")], body)


def _send_body_error(proto, message: str):
    err = malformed("body", f"The request body could not be read: {message}"[:240])
    proto.response_bytes(err.http_status, _JSON + [("Connection", "close")],
                         json.dumps(err.body(), separators=(",", ":")).encode())


def run(app, *, host: str, port: int, workers: int, threads: int):
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.http import HTTP1Settings

    settings = app.config["INVENTORY"]
    bridge = WsgiBridge(app, threads=threads,
                        max_body=settings["MAX_BODY_SIZE"] + COMPRESSED_SLACK,
                        body_timeout=settings["BODY_TIMEOUT"])
    head_ms = min(max(int(settings["HEAD_TIMEOUT"] * 1000), 1), 60_000)  # granian's range
    server = Granian(
        "taler_inventory", address=host, port=port, interface=Interfaces.RSGI,
        workers=workers, loop=Loops.asyncio, http=HTTPModes.http1, websockets=False,
        http1_settings=HTTP1Settings(header_read_timeout=head_ms, keep_alive=True),
        workers_kill_timeout=GRACEFUL_TIMEOUT, log_level="warning",
        # Parked long polls count as requests in flight: room for all of them and
        # for as many others.
        backpressure=settings["LONG_POLL_MAX_WAITERS"] + ACTIVE_REQUESTS)
    # The app object exists already (forked into the workers), no import by name.
    server.serve(target_loader=lambda: bridge, wrap_loader=False)

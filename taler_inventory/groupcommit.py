"""Group commit: lock requests on one product that meet in one process share a call.

While a database call for a product is in flight, further lock requests for the
same product queue up in this process.  When the call returns, the requests that
queued meanwhile (at most :data:`MAX_BATCH`) go to the database together, in one
call and one transaction, in their order of arrival; the procedure decides them
one after the other, so each gets the answer it would have got alone.  There is
no timer: a request that finds nothing in flight goes at once (a batch of one),
and a batch is only ever as large as what piled up during the previous call.

Two requests of the same cart never share a batch: the second waits for the
next one, so a cart's requests keep their order.  Several processes (or
machines) batch independently; the database serializes their batches on the
product row as it serializes single requests.
"""
import threading
from collections import deque

#: Most lock requests applied in one transaction.
MAX_BATCH = 64


class _Waiter:
    __slots__ = ("request", "outcome", "error", "done", "batch")

    def __init__(self, request):
        self.request = request
        self.outcome = None
        self.error = None
        self.done = None   # an Event, only for a request that has to wait
        self.batch = None  # set when this waiter is to lead the next call


class GroupCommit:
    """Batches calls per key; ``run(key, requests)`` returns one outcome per request.

    ``cart(request)`` names what must not appear twice in one batch.  ``run``
    must answer each request on its own: should it raise for a batch of several,
    each request is run again alone (so one bad request never fails another),
    unless ``shared(exc)`` says the failure is everybody's (the database is gone).
    """

    def __init__(self, run, cart, *, shared=lambda exc: False, max_batch=MAX_BATCH):
        self._run = run
        self._cart = cart
        self._shared = shared
        self._max_batch = max_batch
        self._mutex = threading.Lock()
        self._queues = {}  # key -> requests waiting; present while a call is in flight
        self.batch_sizes = {}  # size -> how many calls had it (for the benchmark)

    def submit(self, key, request):
        """Apply ``request`` (alone or with others queued for ``key``); its outcome."""
        me = _Waiter(request)
        with self._mutex:
            queue = self._queues.get(key)
            if queue is None:
                self._queues[key] = deque()
                me.batch = [me]
            else:
                me.done = threading.Event()
                queue.append(me)
        if me.batch is None:
            me.done.wait()
        if me.batch is not None:
            self._lead(key, me.batch)
        if me.error is not None:
            raise me.error
        return me.outcome

    def waiting(self) -> int:
        """How many requests wait for a call in flight (all keys)."""
        with self._mutex:
            return sum(len(queue) for queue in self._queues.values())

    def _lead(self, key, batch):
        """Run one batch, answer its waiters, and hand the queue to the next leader."""
        self._apply(key, batch)
        with self._mutex:
            queue = self._queues[key]
            following = self._take(queue)
            if following:
                following[0].batch = following
            else:
                del self._queues[key]
            self.batch_sizes[len(batch)] = self.batch_sizes.get(len(batch), 0) + 1
        for waiter in batch:
            waiter.batch = None
            if waiter.done is not None:
                waiter.done.set()
        if following:
            following[0].done.set()

    def _take(self, queue):
        """The longest prefix of the queue without a cart twice, at most max_batch."""
        batch, carts = [], set()
        while queue and len(batch) < self._max_batch:
            cart = self._cart(queue[0].request)
            if cart in carts:
                break
            carts.add(cart)
            batch.append(queue.popleft())
        return batch

    def _apply(self, key, batch):
        try:
            outcomes = self._run(key, [w.request for w in batch])
        except Exception as exc:  # noqa: BLE001 - handed to the waiting requests
            if len(batch) == 1 or self._shared(exc):
                for waiter in batch:
                    waiter.error = exc
                return
            for waiter in batch:
                self._apply(key, [waiter])
            return
        for waiter, outcome in zip(batch, outcomes, strict=True):
            waiter.outcome = outcome

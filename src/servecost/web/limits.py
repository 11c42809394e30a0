"""What one request may take: a body of at most MAX_BODY_BYTES, and one of a few CPU slots for the
core call (simulations take a slot of their own, so that they never hold every CPU slot), run in a
worker thread so the event loop keeps answering. A request that waits too long for a slot is told
to retry (429). When the client disconnects, DEADLINE_S passes or the server stops, the call's
cancel event is set: simulations check it and stop within milliseconds; the other calls do not
check it, and take seconds at most (their inputs are bounded in schema/requests.py)."""

import asyncio
import contextvars
import os
import threading
import weakref

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

MAX_BODY_BYTES = 2_000_000
MAX_RUNS = 2500          # measured runs validated per request (the calibration file has 2,018)
SLOTS = max(1, os.cpu_count() or 1)
SIM_SLOTS = 1                     # simulations at once per process, each up to 1.2 GB (sim.limits.API)
QUEUE_TIMEOUT_S = 30.0            # waiting for a slot, then 429
SIM_QUEUE_TIMEOUT_S = 5.0         # a simulation waits less: each takes up to DEADLINE_S
DEADLINE_S = 30.0                 # one call, then it is cancelled (a simulation stops itself at 20 s: sim.limits.API)
POLL_S = 0.25                     # how often a waiting request checks its client is still there
CANCEL: contextvars.ContextVar = contextvars.ContextVar("cancel", default=None)


def too_large(size: str) -> str:
    return f"body: {size} bytes is over the limit of {MAX_BODY_BYTES:,} bytes"


class BodyLimit:
    """ASGI middleware: 413 for a body over MAX_BODY_BYTES, declared or streamed."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"0").decode("latin-1")
        if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
            return await JSONResponse({"detail": too_large(declared[:20])}, status_code=413)(scope, receive, send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > MAX_BODY_BYTES:
                raise HTTPException(413, too_large(f"{seen:,}+"))
            return message

        await self.app(scope, limited, send)


class CpuSlots:
    """At most `slots` core calls at once (`sim_slots` simulations beside them), each in a worker
    thread, one semaphore per kind and event loop."""

    def __init__(self, slots: int = SLOTS, sim_slots: int = SIM_SLOTS):
        self.sizes = {"core": slots, "sim": sim_slots}
        self._semaphores = weakref.WeakKeyDictionary()
        self._running: set[threading.Event] = set()

    def _semaphore(self, kind: str) -> asyncio.Semaphore:
        per_loop = self._semaphores.setdefault(asyncio.get_running_loop(), {})
        return per_loop.setdefault(kind, asyncio.Semaphore(self.sizes[kind]))

    def cancel_all(self) -> None:
        """Stop every cancellable call in progress (the server is stopping)."""
        for cancel in list(self._running):
            cancel.set()

    async def run(self, fn, *args, request=None, kind: str = "core", deadline_s: float = DEADLINE_S):
        """fn(*args) in a worker thread; CANCEL holds its cancel event there."""
        semaphore = self._semaphore(kind)
        wait_s = QUEUE_TIMEOUT_S if kind == "core" else SIM_QUEUE_TIMEOUT_S
        try:
            await asyncio.wait_for(semaphore.acquire(), wait_s)
        except TimeoutError:
            raise HTTPException(429, "server busy: too many requests waiting; retry shortly") from None
        cancel = threading.Event()
        self._running.add(cancel)
        try:
            return await self._watch(asyncio.ensure_future(run_in_threadpool(_with_cancel, cancel, fn, *args)),
                                     cancel, request, deadline_s)
        finally:
            self._running.discard(cancel)
            semaphore.release()

    @staticmethod
    async def _watch(task: asyncio.Future, cancel: threading.Event, request, deadline_s: float):
        """The call's answer. Sets `cancel` when the client leaves or the deadline passes, then waits for
        the thread to end, so that the slot is free only when the CPU is; when this task is cancelled
        (the server stops) it sets `cancel` and returns at once."""
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline_s
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=POLL_S)
                if done:
                    return task.result()
                if loop.time() > end or (request is not None and await request.is_disconnected()):
                    cancel.set()
        except asyncio.CancelledError:
            cancel.set()
            raise


def _with_cancel(cancel: threading.Event, fn, *args):
    from .. import hardware
    token = CANCEL.set(cancel)
    hardware.use_own([])    # a worker thread keeps its context: no chips of an earlier request
    try:
        return fn(*args)
    finally:
        CANCEL.reset(token)


def cancel_event() -> threading.Event | None:
    """The cancel event of the core call running in this thread (None outside CpuSlots.run)."""
    return CANCEL.get()

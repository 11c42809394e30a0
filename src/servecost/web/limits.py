"""What one request may take: a body of at most MAX_BODY_BYTES, and one of a few CPU slots for the
core call, run in a worker thread so the event loop keeps answering; a request that waits too long
for a slot is told to retry (429)."""

import asyncio
import os
import weakref

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

MAX_BODY_BYTES = 2_000_000
MAX_RUNS = 2500          # measured runs validated per request (the calibration file has 2,018)
SLOTS = max(1, os.cpu_count() or 1)
QUEUE_TIMEOUT_S = 30.0


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
    """At most `slots` core calls at once, each in a worker thread (one semaphore per event loop)."""

    def __init__(self, slots: int = SLOTS):
        self.slots = slots
        self._semaphores = weakref.WeakKeyDictionary()

    async def run(self, fn, *args):
        semaphore = self._semaphores.setdefault(asyncio.get_running_loop(), asyncio.Semaphore(self.slots))
        try:
            await asyncio.wait_for(semaphore.acquire(), QUEUE_TIMEOUT_S)
        except TimeoutError:
            raise HTTPException(429, "server busy: too many requests waiting; retry shortly") from None
        try:
            return await run_in_threadpool(fn, *args)
        finally:
            semaphore.release()

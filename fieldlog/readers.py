"""Reader processes: the chief's heavy pages are answered away from the process that takes the phones' entries.

Why (issue 10, "no request starves the others"): a page that computes for 100-200 ms holds Python's GIL for most
of it, and every inspector's submission in the same process waits for the GIL each time it comes back from SQLite
or fsync: measured on 1 M events, submission p99 went from 92 ms to 973 ms while the chief reloaded the monthly
report, and a shorter GIL switch interval only halved it. Threads cannot fix this; another process can.

How: `fieldlog serve` (cli.run_server) forks FIELDLOG_READERS processes (default 1) from the app just before
uvicorn starts, while the process has a single thread, so a reader is the same app with the same settings, clock,
templates and database file. The outermost middleware (`Offload`) hands a GET or HEAD of a reader path (READER_PATHS:
the chief's pages, the indicators and their exports, the coverage API) to a reader as the ASGI scope it arrived with
(client address, scheme and headers included, so the reader's own middleware decides sign-in, CSRF, forwarded
headers, compression and security headers exactly as the main process would) and sends back the answer it made.
The main process only waits on a future meanwhile, holding neither a thread nor the GIL; the readers form a
bounded pool (FIELDLOG_READERS processes, one request each at a time, the rest queue).

Writes stay with the main process: only GET and HEAD go to a reader, and what such a request may write (a session
touched once an hour, a refused access in the audit log) goes through db.write in the reader, whose BEGIN
IMMEDIATE waits on SQLite's file lock for the main process's writer (and the main process's on it), so the one
writer discipline holds across the processes.

Tests and `create_app` alone run no reader: every request is answered in the process (FIELDLOG_READERS=0 does the
same under `fieldlog serve`). A reader ends with the main process, however that ends. A reader that dies (killed, out of memory) is not replaced: the main process logs it
and answers those pages itself from then on.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import os
import re
import signal
import threading
import traceback
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

log = logging.getLogger("fieldlog.readers")

# GET/HEAD paths answered by a reader: what the chief and the finance office read, whose cost is the year's figures
# or the whole station's month. Not the phones' pages (/log, /events, /notices ...), which are light and which an
# inspector needs answered beside their own submissions, nor static files, photos or sign-in.
READER_PATHS = re.compile(r"/(chief|indicators|api/v1/indicators|api/v1/coverage)(/|$)")
MAX_READERS = 8
PR_SET_PDEATHSIG = 1
# The parts of an ASGI HTTP scope a reader needs (and that can be pickled); the rest is rebuilt by its own app.
SCOPE_KEYS = ("type", "asgi", "http_version", "method", "scheme", "path", "raw_path", "root_path", "query_string",
              "headers", "client", "server")

_pool: ProcessPoolExecutor | None = None   # set in the main process by start(); None in a reader and in tests
_app = None                                # the app a forked reader answers with
_loop: asyncio.AbstractEventLoop | None = None


def wanted(scope) -> bool:
    """Whether a reader answers this request (when readers run)."""
    return scope["type"] == "http" and scope["method"] in ("GET", "HEAD") and bool(READER_PATHS.match(scope["path"]))


class Offload:
    """ASGI middleware, outermost: a GET or HEAD of a reader path goes to a reader process while readers run."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        global _pool
        pool = _pool
        if pool is None or not wanted(scope):
            return await self.app(scope, receive, send)
        request = {key: scope[key] for key in SCOPE_KEYS if key in scope}
        try:
            start, body = await asyncio.wrap_future(pool.submit(_answer, request))
        except BrokenProcessPool:
            if _pool is pool:
                log.error("a reader process died; the main process answers the chief's pages from now on")
                _pool = None
            return await self.app(scope, receive, send)
        await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": False})


def start(app, readers: int) -> None:
    """Fork `readers` reader processes of `app` (the main process must still have a single thread: call this just
    before the server starts); 0 starts none."""
    global _pool, _app
    if readers <= 0:
        return
    if threading.active_count() > 1:
        log.warning("readers not started: this process already runs other threads; it answers every page itself")
        return
    _app = app
    _pool = ProcessPoolExecutor(max_workers=readers, mp_context=multiprocessing.get_context("fork"),
                                initializer=_reader_init, initargs=(os.getpid(),))
    # The first task forks every reader now, while this process has one thread (a fork from a process with more
    # threads copies locks that another thread may hold).
    for future in [_pool.submit(_ready) for _ in range(readers)]:
        future.result()


def stop() -> None:
    """End the readers (the server has stopped)."""
    global _pool
    pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


# --- in a reader ------------------------------------------------------------------------------------------

def _reader_init(parent: int) -> None:
    global _pool, _loop
    _die_with(parent)
    _pool = None                 # a reader answers what it is given itself
    _loop = asyncio.new_event_loop()
    asyncio.set_event_loop(_loop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C stops the main process, which then ends the readers


def _die_with(parent: int) -> None:
    """End this reader when the main process ends, however it ends: uvicorn re-raises the SIGTERM that stopped it,
    which ends the main process without running its clean-up, and an orphaned reader would keep the database's
    in-use lock (`fieldlog restore` refuses) and the server's output open. Linux: PR_SET_PDEATHSIG."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the reader ends when its task pipe closes
        pass
    if os.getppid() != parent:  # the main process ended before the line above took effect
        os._exit(0)


def _ready() -> bool:
    return True


def _answer(request: dict) -> tuple[dict, bytes]:
    """Run one request through the app; (the http.response.start message, the whole body)."""
    return _loop.run_until_complete(_call(request))


async def _call(request: dict) -> tuple[dict, bytes]:
    scope = {**request, "state": {}, "extensions": {}}
    sent: list[dict] = []
    asked = False

    async def receive():
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # no disconnect to report: the main process holds the connection

    async def send(message):
        sent.append(message)

    try:
        await _app(scope, receive, send)
    except Exception:
        if not sent:  # nothing answered: the main process reports it as its own error
            raise RuntimeError(traceback.format_exc()) from None
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start, body

"""Where a submission's time goes: N POST /api/v1/events through the app in-process, profiled with pyinstrument.

    python bench/profile_submit.py [--n 2000] [--dir /dev/shm]

Same set-up as bench/event_submit.py (one inspector, a bearer token, a site, WAL + synchronous=FULL). The
requests go through the whole ASGI app (middleware, authentication, validation, hashing, the insert and its
triggers, the reads after it) with httpx's ASGI transport; for the profile only, sync routes and dependencies
run inline instead of in Starlette's thread pool, so that the one profiled thread sees all of it (uvicorn's
HTTP parsing and the thread hand-offs are not in the profile).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from event_submit import prepare  # noqa: E402


def run_inline() -> None:
    """Sync routes and dependencies run in the calling thread (profile only)."""
    import anyio.to_thread
    import fastapi.concurrency
    import fastapi.dependencies.utils
    import fastapi.routing

    async def inline(func, *args, **kwargs):
        return func(*args, **kwargs)

    async def run_sync(func, *args, limiter=None, **kwargs):
        return func(*args)

    for module in (fastapi.concurrency, fastapi.dependencies.utils, fastapi.routing):
        module.run_in_threadpool = inline
    anyio.to_thread.run_sync = run_sync


async def submit_all(app, token: str, site_id: int, n: int, profiler) -> float:
    import httpx

    occurred = (datetime.now(timezone(timedelta(hours=8))) - timedelta(minutes=5)).isoformat(timespec="seconds")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def body() -> bytes:
        return json.dumps({"id": str(uuid.uuid4()), "kind": "safety_patrol", "occurred_at": occurred,
                           "site_id": site_id, "lat": 27.08, "lon": 112.95, "accuracy_m": 12, "note": "压测",
                           "fields": {"finding": "一般", "hazards_general": 1}}, ensure_ascii=False).encode()

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
        for _ in range(50):
            r = await client.post("/api/v1/events", content=body(), headers=headers)
            assert r.status_code == 201, r.text
        t0 = time.perf_counter()
        profiler.start()
        for _ in range(n):
            await client.post("/api/v1/events", content=body(), headers=headers)
        profiler.stop()
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--dir", default=None, help="folder for the database (default: a temporary folder; "
                        "/dev/shm takes fsync out of the profile)")
    args = parser.parse_args()
    from pyinstrument import Profiler
    from pyinstrument.renderers import ConsoleRenderer

    from fieldlog import config
    from fieldlog.web import create_app

    run_inline()
    with tempfile.TemporaryDirectory(prefix="fieldlog-profile-", dir=args.dir) as tmp:
        data_dir = Path(tmp) / "data"
        token, site_id = prepare(data_dir)
        app = create_app(config.load(env={"FIELDLOG_HTTPS": "off"}, data_dir=str(data_dir)))
        profiler = Profiler(interval=0.0002, async_mode="disabled")
        took = asyncio.run(submit_all(app, token, site_id, args.n, profiler))
    print(f"{args.n} submissions in {took:.2f} s: {took / args.n * 1000:.2f} ms each in-process (profiled)")
    print(profiler.output(ConsoleRenderer(unicode=True, color=False, show_all=False, time="percent_of_total")))


if __name__ == "__main__":
    main()

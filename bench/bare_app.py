"""The floor for bench/event_submit.py: a bare FastAPI app that stores a posted event with one INSERT.

    python bench/bare_app.py DATABASE PORT

POST /api/v1/events takes the same JSON as fieldlog's, keeps its id, kind and the body as text in one table
(SQLite WAL with synchronous=FULL, like fieldlog.db), answers 201 with the id. A sync route, so it runs in
Starlette's thread pool as fieldlog's do; one connection per thread, one writer at a time (a lock, then
BEGIN IMMEDIATE), as fieldlog.db.write does. Run under uvicorn with the options `fieldlog serve` uses.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

PATH = sys.argv[1] if len(sys.argv) > 1 else "bare.db"
app = FastAPI()
local = threading.local()
lock = threading.Lock()


def conn() -> sqlite3.Connection:
    if not hasattr(local, "conn"):
        c = sqlite3.connect(PATH, isolation_level=None, check_same_thread=False)
        c.execute("PRAGMA journal_mode = WAL")
        c.execute("PRAGMA synchronous = FULL")
        local.conn = c
    return local.conn


@app.post("/api/v1/events", status_code=201)
def create(request: Request, body: dict) -> JSONResponse:
    c = conn()
    with lock:
        c.execute("BEGIN IMMEDIATE")
        c.execute("INSERT INTO events (id, kind, body) VALUES (?, ?, ?)",
                  [body["id"], body["kind"], json.dumps(body, ensure_ascii=False)])
        c.execute("COMMIT")
    return JSONResponse({"id": body["id"]}, status_code=201)


@app.get("/static/app.css")
def ping() -> dict:
    return {}


if __name__ == "__main__":
    setup = sqlite3.connect(PATH)
    setup.execute("PRAGMA journal_mode = WAL")
    setup.execute("CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, kind TEXT NOT NULL, body TEXT NOT NULL)")
    setup.close()
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), proxy_headers=False, log_level="info")  # access log on, as fieldlog serve

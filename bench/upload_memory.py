"""Benchmark: the server's memory for a 40 MB upload, on the phone form and on the API photo upload.

Run: python bench/upload_memory.py [--size-mb 40] [--repo PATH]

Each case runs against a fresh server (uvicorn in a child process, the fieldlog of --repo, default this
checkout) with its own temporary database holding one inspector (its password hashed at argon2's cheapest
parameters, as in the tests). The client signs in and sends one small
photo the same way first (so that every code path is loaded), then the server's peak RSS is reset
(/proc/PID/clear_refs) and the big upload sent: the figure is the server's peak RSS during that request
minus its RSS just before it. The photo is --size-mb of random bytes behind a JPEG signature: fieldlog
refuses it for its size, so the figure is what reading it costs, not what decoding it would.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx

CHILD = r"""
import sys
sys.path.insert(0, sys.argv[1])
import uvicorn
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from fieldlog import accounts, config, db as db_mod
from fieldlog.web import create_app
# Sign-in at argon2's cheapest parameters (as the tests do): quicker, and no part of what is measured.
accounts.use_hasher(PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),)))
cfg = config.load(env={}, data_dir=sys.argv[2], secret_key="bench-secret-key")
db = db_mod.open_db(cfg.database)
accounts.create_user(db, "alice", "Alice", "inspector", "correct-horse-battery")
db.close()
uvicorn.run(create_app(cfg), host="127.0.0.1", port=int(sys.argv[3]), log_level="error")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status_kb(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1))


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(r'name="csrf_token" value="([^"]+)"', html)
    return match.group(1)


def small_jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (0, 0, 255)).save(out, "JPEG")
    return out.getvalue()


class Server:
    """A fresh fieldlog server in a child process, with a client signed in as the inspector."""

    def __init__(self, repo: Path):
        self.tmp = tempfile.TemporaryDirectory()
        port = _free_port()
        self.proc = subprocess.Popen([sys.executable, "-c", CHILD, str(repo), self.tmp.name, str(port)])
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 30
        while True:
            try:
                httpx.get(self.base + "/login", timeout=1)
                break
            except httpx.TransportError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("server did not start")
                time.sleep(0.1)
        self.client = httpx.Client(base_url=self.base, timeout=120)
        token = _csrf(self.client.get("/login").text)
        self.client.post("/login", data={"username": "alice", "password": "correct-horse-battery",
                                         "csrf_token": token, "next": "/"})
        self.csrf = _csrf(self.client.get("/log/leaflets").text)

    def form(self, photo: bytes) -> httpx.Response:
        """The phone form (no-JS path): leaflets handed out now, with one photo."""
        now = datetime.now(timezone.utc).astimezone().strftime("%Y-%m-%dT%H:%M")
        data = {"csrf_token": self.csrf, "id": str(uuid.uuid4()), "occurred_at": now, "place": "market",
                "copies": "10", "inspector_ids": "1"}
        return self.client.post("/log/leaflets", data=data, files={"photos": ("IMG.jpg", photo, "image/jpeg")})

    def api_photo(self, photo: bytes) -> httpx.Response:
        """The API photo upload onto a new event."""
        body = {"id": str(uuid.uuid4()), "kind": "leaflets", "occurred_at": datetime.now(timezone.utc).isoformat(),
                "place": "market", "note": "", "fields": {"copies": 10}}
        headers = {"X-CSRF-Token": self.csrf}
        created = self.client.post("/api/v1/events", json=body, headers=headers)
        assert created.status_code in (200, 201), created.text
        return self.client.post(f"/api/v1/events/{body['id']}/photos", headers=headers,
                                files={"photo": ("IMG.jpg", photo, "image/jpeg")})

    def measure(self, send, photo: bytes) -> tuple[float, httpx.Response]:
        """(MB the server's peak RSS rose during `send(photo)`, the response)."""
        Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
        before = _status_kb(self.proc.pid, "VmRSS")
        response = send(photo)
        return (_status_kb(self.proc.pid, "VmHWM") - before) / 1024, response

    def close(self) -> None:
        self.client.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.tmp.cleanup()


def message(response: httpx.Response) -> str:
    if response.headers.get("content-type", "").startswith("application/json"):
        detail = response.json().get("detail")
        return "; ".join(d["msg"] for d in detail) if isinstance(detail, list) else str(detail)
    for pattern in (r'class="field-error">([^<]+)<', r'class="error" role="alert">([^<]+)<'):
        found = re.search(pattern, response.text)
        if found:
            return found.group(1).strip()
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=40)
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args()
    big = b"\xff\xd8\xff\xe0" + os.urandom(int(args.size_mb * 1024 * 1024) - 4)
    for name, case in (("phone form  POST /log/{kind}", Server.form),
                       ("API upload  POST /api/v1/events/{id}/photos", Server.api_photo)):
        server = Server(args.repo)
        try:
            case(server, small_jpeg())  # warm-up
            rise, response = server.measure(lambda photo: case(server, photo), big)
            print(f"{name}: {args.size_mb:g} MB upload -> HTTP {response.status_code}, "
                  f"server peak RSS +{rise:.1f} MB  ({message(response)})")
        finally:
            server.close()


if __name__ == "__main__":
    main()

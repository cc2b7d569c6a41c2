"""Benchmark: what a phone downloads to open the logging pages (/log and /log/safety_patrol), the inspector's
home (/) and the chief's coverage page (/chief), gzipped.

Run: python bench/page_weight.py

Builds the real app over a temporary database with an inspector, a chief and a county's worth of sites and plants,
signs each in with a TestClient and, for each page, fetches the HTML, every <script src>, <link rel=stylesheet>
and <link rel=modulepreload>, the modules those scripts import statically, the fragments the page loads by
itself (hx-trigger="load") and, when a script registers a service worker, that worker, the /static/ files
it names (its pre-cache) and the pages it caches on install (the /log pages and the offline page: a first visit
downloads them all). Each file is gzipped at level 6 and counted once per page. Then the repeat visit, the worker
installed: the page and its fragments (network first) and the worker script (checked for updates); static files
are kept by the worker or, named by their content hash and served immutable, by the browser's cache.
Target: at most 40 KB per logging page (the page itself, its files and the worker script). For scale (NOTES.md): the ODK/Kobo web form engines ship 260 KB (Enketo)
to about 1.16 MB (ODK Web Forms) gzipped.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import sys
import tempfile
import warnings
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_KB = 40
PAGES = [("bench", "/log", True), ("bench", "/log/safety_patrol", True), ("bench", "/", False),
         ("chief", "/chief", False)]  # (who, page, held to the target)
ODK_KOBO = [("Enketo", 260), ("ODK Web Forms", 1160)]
PASSWORD = "bench-password-123"
SITES, PLANTS = 60, 8


class Assets(HTMLParser):
    """Collects the sub-resources a page makes the browser fetch."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        rel = (a.get("rel") or "").lower().split()
        if tag == "script" and a.get("src"):
            self.found.append(("js", a["src"]))
        elif tag == "link" and a.get("href") and "stylesheet" in rel:
            self.found.append(("css", a["href"]))
        elif tag == "link" and a.get("href") and "modulepreload" in rel:
            self.found.append(("js", a["href"]))
        elif a.get("hx-get") and "load" in (a.get("hx-trigger") or "").split(","):
            self.found.append(("fragment", a["hx-get"]))


IMPORT_RE = re.compile(r"""(?:^|[;\s])import\s*(?:[^'"();]*?\sfrom\s*)?["']([^"']+)["']""", re.M)
SW_RE = re.compile(r"""serviceWorker\s*\.\s*register\(\s*["']([^"']+)["']""")
STATIC_RE = re.compile(r"""["'](/static/[^"'?#]+)""")
SW_PAGES_RE = re.compile(r"""var PAGES = (\[[^\]]*\])""")
SW_OFFLINE_RE = re.compile(r"""var OFFLINE = ("[^"]*")""")
SW_STATIC_RE = re.compile(r"""var STATIC = (\[[^\]]*\])""")


def setup_app(tmp: Path):
    """The real app over a fresh database with one inspector, sites and plants; (app, username)."""
    from fieldlog import accounts, config, db as db_mod, registry
    from fieldlog.web import create_app

    cfg = config.load(env={}, data_dir=str(tmp / "data"), secret_key="bench-secret")
    db = db_mod.open_db(cfg.database)
    inspector = accounts.create_user(db, "bench", "压测员", "inspector", PASSWORD)
    accounts.create_user(db, "chief", "站长", "chief", PASSWORD)
    for n in range(SITES):
        registry.save_site(db, {"name": f"衡东县第{n + 1}号安置小区项目", "reg_no": f"HD-2021-{n:03d}",
                                "town": "城关镇", "address": f"衡东县城关镇建设路{n + 1}号", "started_on": "2020-06-01",
                                "lat": str(27.08 + n / 1000), "lon": str(112.95 + n / 1000),
                                "builder": "衡东县城市建设投资有限公司", "contractor": "湖南某建工集团有限公司",
                                "supervisor": "衡阳某工程监理有限公司"}, inspector_ids=[inspector])
    for n in range(PLANTS):
        registry.save_plant(db, {"name": f"衡东县第{n + 1}商品混凝土有限公司", "licence_no": f"HN-C-{n:03d}",
                                 "address": "衡东县经济开发区", "lat": "27.10", "lon": "112.97"})
    db.close()
    return create_app(cfg), "bench"


def sign_in(client, username: str) -> None:
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token,
                                           "next": "/"}, follow_redirects=False)
    assert response.status_code == 303, f"sign-in failed: {response.status_code}"


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6, mtime=0))


def weigh(client, page: str) -> list[dict]:
    """Every file the page makes a browser download on a first visit: [{kind, url, raw, gzip}]."""
    response = client.get(page)
    assert response.status_code == 200, f"{page}: HTTP {response.status_code}"
    files = [{"kind": "html", "url": page, "raw": len(response.content), "gzip": gz(response.content)}]
    parser = Assets()
    parser.feed(response.text)
    queue, seen = [(kind, urljoin(page, url)) for kind, url in parser.found], {page}
    while queue:
        kind, url = queue.pop(0)
        if urlsplit(url).netloc or url in seen:
            continue  # another origin would not be loaded under the CSP; each file counted once
        seen.add(url)
        body = client.get(url)
        if body.status_code != 200:
            files.append({"kind": kind, "url": url + f" (HTTP {body.status_code})", "raw": 0, "gzip": 0})
            continue
        files.append({"kind": kind, "url": url, "raw": len(body.content), "gzip": gz(body.content),
                      "text": body.text if kind == "sw" else "",
                      "immutable": "immutable" in body.headers.get("cache-control", "")})
        if kind in ("js", "sw"):
            text = body.text
            queue += [("js", urljoin(url, m)) for m in IMPORT_RE.findall(text) if m.startswith((".", "/"))]
            queue += [("sw", urljoin(url, m)) for m in SW_RE.findall(text)]
            if kind == "sw":
                queue += [("precache", m) for m in STATIC_RE.findall(text)]
                # The pages the worker caches for offline use on install: downloaded on the first visit too.
                pages = SW_PAGES_RE.search(text)
                queue += [("sw-page", m) for m in (json.loads(pages.group(1)) if pages else [])]
                offline = SW_OFFLINE_RE.search(text)
                queue += [("sw-page", json.loads(offline.group(1)))] if offline else []
    return files


def repeat_visit(files: list[dict]) -> list[dict]:
    """What a repeat visit downloads, the service worker installed: the page and its fragments (network first),
    the worker script (the browser checks it for updates; no-cache), and any file neither in the worker's cache
    nor immutable in the browser's (counted whole, though an ETag would often answer 304)."""
    sw = next((f for f in files if f["kind"] == "sw"), None)
    cached = set(json.loads(SW_STATIC_RE.search(sw["text"]).group(1))) if sw and SW_STATIC_RE.search(sw["text"]) else set()
    return [f for f in files if f["kind"] in ("html", "fragment", "sw")
            or (f["kind"] in ("js", "css") and f["url"] not in cached and not f.get("immutable"))]


def main() -> int:
    warnings.filterwarnings("ignore", message=".*httpx.*")  # starlette's notice about its test client's transport
    from fastapi.testclient import TestClient

    ok_all = True
    with tempfile.TemporaryDirectory(prefix="fieldlog-weight-") as tmp:
        app, username = setup_app(Path(tmp))
        clients = {}
        for who in dict.fromkeys(who for who, _, _ in PAGES):
            clients[who] = TestClient(app, base_url="http://127.0.0.1").__enter__()
            sign_in(clients[who], who)
        client = clients[username]
        served_gzip = client.get("/static/htmx-2.0.11.min.js", headers={"Accept-Encoding": "gzip"}) \
            .headers.get("content-encoding") == "gzip"
        print(f"Signed in as an inspector and as the chief; {SITES} sites and {PLANTS} plants in the registry. "
              f"Sizes in KB (1 KB = 1024 bytes), gzip level 6.")
        results = []
        for who, page, held in PAGES:
            files = weigh(clients[who], page)
            print()
            print(f"{page} ({'the chief' if who == 'chief' else 'an inspector'})")
            print(f"  {'file':<44}{'kind':<10}{'raw KB':>8}{'gzip KB':>9}")
            for f in files:
                print(f"  {f['url']:<44}{f['kind']:<10}{f['raw'] / 1024:>8.1f}{f['gzip'] / 1024:>9.1f}")
            raw, zipped = sum(f["raw"] for f in files), sum(f["gzip"] for f in files)
            own = sum(f["gzip"] for f in files if f["kind"] != "sw-page")
            again = sum(f["gzip"] for f in repeat_visit(files))
            print(f"  {'first visit, everything the worker fetches included':<54}{raw / 1024:>8.1f}{zipped / 1024:>9.1f}")
            print(f"  {'  of which the page, its files, the worker and its files':<54}{'':>8}{own / 1024:>9.1f}")
            print(f"  {'repeat visit (worker installed)':<54}{'':>8}{again / 1024:>9.1f}")
            results.append((page, held, own, zipped, again))
        for c in clients.values():
            c.__exit__(None, None, None)
    print()
    for name, kb in ODK_KOBO:
        print(f"for scale: {name}: about {kb} KB gzipped")
    if not served_gzip:
        print("note: the app itself does not gzip responses; these figures assume gzip by the server or a proxy")
    print("load average " + " / ".join(f"{x:.2f}" for x in os.getloadavg()) + " (sizes do not depend on it)")
    for page, held, own, first, again in results:
        kb = own / 1024
        ok = kb <= TARGET_KB or not held
        ok_all &= ok
        verdict = ("PASS" if ok else "FAIL") if held else "    "
        print(f"{verdict} {page}: {kb:.1f} KB gzipped" + (f" <= {TARGET_KB} KB ({ODK_KOBO[0][1] / kb:.0f}x to "
              f"{ODK_KOBO[1][1] / kb:.0f}x less than the ODK/Kobo engines)" if held else "") +
              f"; first visit with the worker's downloads {first / 1024:.1f} KB, repeat visit {again / 1024:.1f} KB")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())

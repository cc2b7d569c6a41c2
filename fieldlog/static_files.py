"""Static files under content-hashed names, so that a phone keeps them for a year and a repeat visit costs nothing.

`static_url("app.css")` is `/static/app.<hash>.css`, the hash being the first 10 hex digits of the file's sha256,
computed once per process (at app start) for every file under `static/`. `/static/app.<hash>.css` is then served
with `Cache-Control: public, max-age=31536000, immutable`: a new content is a new name, so the old one never needs
checking again. The plain name (`/static/app.css`, what pages cached before hashing ask for) is still served, with
its ETag and no long lifetime; so is a hashed name whose hash is no longer current (a page cached before a
deploy), with the current content and no long lifetime either.
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path

from starlette.staticfiles import StaticFiles

from fieldlog.resources import resource_dir

IMMUTABLE = "public, max-age=31536000, immutable"
HASHED = re.compile(r"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{10})(?P<ext>\.[A-Za-z0-9]+)$")


@functools.cache
def hashes() -> dict[str, str]:
    """Each static file's path (relative, with /) and the first 10 hex digits of its sha256."""
    root = resource_dir("static")
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()[:10]
            for p in sorted(root.rglob("*")) if p.is_file()}


def hashed_name(name: str) -> str:
    """'app.css' -> 'app.<hash>.css' (a name without an extension gets the hash at its end)."""
    digest = hashes().get(name)
    if digest is None:
        raise KeyError(f"no static file {name!r}")
    stem, dot, ext = name.rpartition(".")
    return f"{stem}.{digest}.{ext}" if dot and "/" not in ext else f"{name}.{digest}"


def static_url(name: str) -> str:
    """The URL of a static file under its content-hashed name: `/static/app.<hash>.css`."""
    return "/static/" + hashed_name(name)


def _resolve(path: str) -> tuple[str, bool]:
    """The file a request path names and whether its hash is the current one (it may then be kept for a year)."""
    if path in hashes():
        return path, False
    m = HASHED.match(path)
    if m:
        plain = m["stem"] + m["ext"]
        if plain in hashes():
            return plain, hashes()[plain] == m["hash"]
    return path, False


class HashedStaticFiles(StaticFiles):
    """StaticFiles that also answers the content-hashed names, those with the current hash as immutable."""

    async def get_response(self, path: str, scope):
        real, current = _resolve(Path(path).as_posix())
        response = await super().get_response(real, scope)
        if current and response.status_code in (200, 304):
            response.headers["Cache-Control"] = IMMUTABLE
        return response

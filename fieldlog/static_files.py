"""Static files under content-hashed names, so that a phone keeps them for a year and a repeat visit costs nothing.

`static_url("app.css")` is `/static/app.<hash>.css`, the hash being the first 10 hex digits of the file's sha256,
computed once per process (at app start) for every file under `static/`. `/static/app.<hash>.css` is then served
with `Cache-Control: public, max-age=31536000, immutable`: a new content is a new name, so the old one never needs
checking again. The plain name (`/static/app.css`, what pages cached before hashing ask for) is still served, with
its ETag and no long lifetime; so is a hashed name whose hash is no longer current (a page cached before a
deploy), with the current content and no long lifetime either.

The project's own scripts are served compacted: whole-line `//` comments and each line's indentation dropped
(nothing else: no renaming, no joining of lines, so the code runs as written). A phone on a weak signal does not
download the comments; the hash is of the bytes served.
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from fieldlog.resources import resource_dir

IMMUTABLE = "public, max-age=31536000, immutable"
HASHED = re.compile(r"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{10})(?P<ext>\.[A-Za-z0-9]+)$")
COMMENT_LINE = re.compile(rb"^[ \t]*//[^\n]*\n", re.MULTILINE)
INDENT = re.compile(rb"^[ \t]+", re.MULTILINE)


def compact(script: bytes) -> bytes:
    """A script without its whole-line // comments and indentation."""
    return INDENT.sub(b"", COMMENT_LINE.sub(b"", script))


def _own_script(name: str) -> bool:
    return name.endswith(".js") and "/" not in name and ".min." not in name and "-bundle-" not in name


@functools.cache
def compacted() -> dict[str, bytes]:
    """The project's own scripts as served: compacted once per process."""
    root = resource_dir("static")
    return {p.name: compact(p.read_bytes()) for p in sorted(root.glob("*.js")) if _own_script(p.name)}


def served(name: str) -> bytes:
    """The bytes a static file is served with."""
    return compacted().get(name) or (resource_dir("static") / name).read_bytes()


@functools.cache
def hashes() -> dict[str, str]:
    """Each static file's path (relative, with /) and the first 10 hex digits of the sha256 of what is served."""
    root = resource_dir("static")
    return {name: hashlib.sha256(served(name)).hexdigest()[:10]
            for name in (p.relative_to(root).as_posix() for p in sorted(root.rglob("*")) if p.is_file())}


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
        if real in compacted():
            etag = f'"{hashes()[real]}"'
            headers = {"ETag": etag, "Cache-Control": IMMUTABLE if current else "no-cache"}
            if etag in _header(scope, b"if-none-match"):
                return Response(status_code=304, headers=headers)
            return Response(compacted()[real], media_type="text/javascript", headers=headers)
        response = await super().get_response(real, scope)
        if current and response.status_code in (200, 304):
            response.headers["Cache-Control"] = IMMUTABLE
        return response


def _header(scope, name: bytes) -> str:
    return next((v.decode("latin-1") for k, v in scope["headers"] if k == name), "")

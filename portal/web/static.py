"""The files under static/ by fingerprinted names, so that a browser keeps them for a year.

`static_url("css/portal.css")` (a template global) is `/static/css/portal.<8 hex>.css`, the hex the
start of the SHA-256 of the file's bytes: a changed file gets a new name, so its old copies in
caches are never read again and the name can be served `immutable`. The manifest (name, digest,
bytes) is read once at start-up; in development (`watch`) a file edited while the server runs is
read again, under its new name. The plain name is still served (a bookmark, WeasyPrint, an old
page), with `no-cache` and an ETag: the browser asks each time and mostly hears 304. Text files
are compressed once, with brotli at quality 11 and gzip at 9, not on every request."""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

import brotli
from litestar import Request, route
from litestar.response import Response

from portal.web.compression import compressible

DIGEST_LENGTH = 8
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".map": "application/json"}


@dataclass(frozen=True, slots=True)
class Asset:
    name: str  # relative to static/, with forward slashes: "css/portal.css"
    digest: str
    body: bytes
    media_type: str
    mtime_ns: int
    br: bytes | None = None  # compressed once, at the best (slowest) levels: served as they are
    gzipped: bytes | None = None

    @property
    def fingerprinted(self) -> str:
        """css/portal.css -> css/portal.<digest>.css (a name without a suffix gets it at the end)."""
        folder, _, base = self.name.rpartition("/")
        stem, dot, suffix = base.rpartition(".")
        named = f"{stem}.{self.digest}.{suffix}" if dot and stem else f"{base}.{self.digest}"
        return f"{folder}/{named}" if folder else named

    @property
    def etag(self) -> str:
        return f'W/"{self.digest}"'  # weak: the same for its brotli, gzip and plain bodies


def _media_type(path: Path) -> str:
    return _MEDIA_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


class StaticFiles:
    def __init__(self, directory: Path, *, watch: bool = False) -> None:
        self.directory = directory.resolve()
        self.watch = watch
        self._assets: dict[str, Asset] = {}
        self._fingerprinted: dict[str, str] = {}  # fingerprinted name -> name
        for path in sorted(self.directory.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                self._read(path.relative_to(self.directory).as_posix())

    def _read(self, name: str) -> Asset | None:
        path = (self.directory / name).resolve()
        if not path.is_relative_to(self.directory) or not path.is_file() or path.name.startswith("."):
            return None
        stat = path.stat()
        body = path.read_bytes()
        media_type = _media_type(path)
        packed = compressible(media_type) and len(body) >= 500
        asset = Asset(name, hashlib.sha256(body).hexdigest()[:DIGEST_LENGTH], body, media_type, stat.st_mtime_ns,
                      br=brotli.compress(body, quality=11, mode=brotli.MODE_TEXT) if packed else None,
                      gzipped=gzip.compress(body, compresslevel=9, mtime=0) if packed else None)
        old = self._assets.get(name)
        if old is not None:
            self._fingerprinted.pop(old.fingerprinted, None)
        self._assets[name] = asset
        self._fingerprinted[asset.fingerprinted] = name
        return asset

    def _current(self, name: str) -> Asset | None:
        asset = self._assets.get(name)
        if not self.watch:
            return asset
        try:
            mtime = (self.directory / name).stat().st_mtime_ns
        except (OSError, ValueError):
            return None
        return asset if asset is not None and asset.mtime_ns == mtime else self._read(name)

    def url(self, name: str) -> str:
        """The fingerprinted address of static/<name>; a name with no file is a mistake in a template."""
        asset = self._current(name.lstrip("/"))
        if asset is None:
            raise LookupError(f"static/{name} does not exist")
        return f"/static/{asset.fingerprinted}"

    def find(self, requested: str) -> tuple[Asset, bool] | None:
        """The file a /static/ path names, and whether by its fingerprinted name; None: no such file
        (or an old fingerprint)."""
        requested = requested.lstrip("/")
        name = self._fingerprinted.get(requested)
        if name is not None:
            asset = self._current(name)
            return (asset, True) if asset is not None and asset.fingerprinted == requested else None
        asset = self._current(requested)
        return (asset, False) if asset is not None else None


@route("/static/{path:path}", http_method=["GET", "HEAD"], include_in_schema=False)  # HEAD: uvicorn sends no body
async def static_file(request: Request, path: str) -> Response:
    files: StaticFiles = request.app.state.static_files
    found = files.find(path)
    if found is None:  # plain text: the session middleware skips /static/, the friendly 404 page needs it
        return Response("Not found", status_code=404, media_type="text/plain", headers={"Cache-Control": "no-store"})
    asset, fingerprinted = found
    headers = {"Cache-Control": IMMUTABLE if fingerprinted else REVALIDATE, "ETag": asset.etag}
    if asset.br is not None:
        headers["Vary"] = "Accept-Encoding"
    if f'"{asset.digest}"' in request.headers.get("if-none-match", ""):
        return Response(b"", status_code=304, media_type=asset.media_type, headers=headers)
    accepted = request.headers.get("accept-encoding", "")
    body = asset.body
    if asset.br is not None and "br" in accepted:  # the compression middleware passes what is encoded already
        body, headers["Content-Encoding"] = asset.br, "br"
    elif asset.gzipped is not None and "gzip" in accepted:
        body, headers["Content-Encoding"] = asset.gzipped, "gzip"
    return Response(body, media_type=asset.media_type, headers=headers)

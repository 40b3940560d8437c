"""Responses compressed for the wire: brotli when the browser takes it, else gzip.

Litestar's CompressionMiddleware compresses every body over `minimum_size`, whatever it is. This
one looks at the Content-Type first: pages, CSS, JS, JSON, SVG, CSV and iCalendar are text and
shrink to a fifth or less; PDFs, spreadsheets (XLSX is a zip) and uploaded images are compressed
already and pass as they are, byte for byte. The Stripe webhook is left alone by its path (Stripe
reads only its status), and so is a request another site started (BREACH, below)."""

from __future__ import annotations

from litestar.config.compression import CompressionConfig
from litestar.datastructures import Headers
from litestar.enums import CompressionEncoding
from litestar.middleware.compression import CompressionMiddleware
from litestar.types import Message, Receive, Scope, Send

COMPRESSIBLE_PREFIXES = ("text/",)
COMPRESSIBLE_TYPES = frozenset({"application/json", "application/javascript", "application/xml", "image/svg+xml"})
NOT_COMPRESSED_PATHS = ["^/webhooks/"]


def compressible(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type.startswith(COMPRESSIBLE_PREFIXES) or media_type in COMPRESSIBLE_TYPES


class TextCompressionMiddleware(CompressionMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """BREACH: a page compressed together with a secret (the CSRF token) and text an attacker
        chose (a search query in the address) leaks the secret through its size. The attacker's
        requests carry the session only as top-level navigations from their own site, which the
        browser marks Sec-Fetch-Site: cross-site (or same-site, from a sibling domain): those go
        uncompressed. The portal's own pages and files are same-origin; a typed address is "none"."""
        if Headers.from_scope(scope).get("sec-fetch-site", "") in ("cross-site", "same-site"):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def create_compression_send_wrapper(self, send: Send, compression_encoding: CompressionEncoding | str, scope: Scope) -> Send:
        compressing = super().create_compression_send_wrapper(send, compression_encoding, scope)
        passing = False

        async def send_wrapper(message: Message) -> None:
            nonlocal passing
            if message["type"] == "http.response.start":
                headers = Headers(message.get("headers", []))
                passing = "content-encoding" in headers or not compressible(headers.get("content-type", ""))
            await (send if passing else compressing)(message)

        return send_wrapper


def compression_config() -> CompressionConfig:
    return CompressionConfig(
        backend="brotli",  # the brotli package: litestar's [brotli] extra
        brotli_quality=5,  # per response, on the event loop: about as fast as gzip level 6, a tenth smaller
        gzip_fallback=True,
        gzip_compress_level=6,
        minimum_size=500,  # a 204, a redirect or an htmx fragment of a line gains nothing
        exclude=NOT_COMPRESSED_PATHS,
        middleware_class=TextCompressionMiddleware,
    )

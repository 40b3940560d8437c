"""Layout mock-ups for the demo: a small pure-Python PNG encoder (zlib + struct) that draws a
prepress proof of a plastic card or a packaging panel, deterministic from (seed, palette).

Rows are bytearrays filled with slice assignments (one per shape and row), so an image takes a
few milliseconds.
"""

from __future__ import annotations

import math
import random
import struct
import zlib

WIDTH, HEIGHT = 640, 400
Colour = tuple[int, int, int]

# name -> gradient stops, dark stripe, accent (logo, chip), light text
PALETTES: dict[str, tuple[tuple[Colour, ...], Colour, Colour, Colour]] = {
    "blue": (((18, 64, 140), (40, 118, 214), (96, 178, 240)), (12, 34, 78), (236, 196, 92), (226, 238, 252)),
    "gold": (((150, 108, 32), (232, 196, 104), (170, 126, 44), (246, 222, 150), (140, 98, 28)),
             (44, 36, 30), (250, 240, 214), (255, 248, 228)),
    "green": (((16, 92, 72), (42, 156, 112), (140, 210, 160)), (10, 52, 42), (246, 206, 84), (228, 246, 236)),
    "red": (((128, 20, 36), (210, 48, 60), (244, 128, 96)), (70, 12, 22), (246, 212, 120), (252, 232, 228)),
}


def _gradient(stops: tuple[Colour, ...], length: int) -> bytes:
    """`length` pixels running through the stops."""
    out = bytearray()
    for x in range(length):
        t = x / max(length - 1, 1) * (len(stops) - 1)
        i = min(int(t), len(stops) - 2)
        f, a, b = t - i, stops[i], stops[i + 1]
        out += bytes(round(a[k] + (b[k] - a[k]) * f) for k in range(3))
    return bytes(out)


class _Canvas:
    def __init__(self, background: Colour) -> None:
        self.rows = [bytearray(bytes(background) * WIDTH) for _ in range(HEIGHT)]

    def rect(self, x0: int, y0: int, x1: int, y1: int, paint: Colour | bytes, radius: int = 0, slant: int = 0) -> None:
        """Fill [x0, x1) x [y0, y1). `paint` is a colour, or a gradient of at least (x1 - x0) + slant * height
        pixels read diagonally. Rounded corners of `radius` pixels."""
        for y in range(max(y0, 0), min(y1, HEIGHT)):
            d = min(y - y0, y1 - 1 - y)
            inset = radius - int(math.sqrt(max(radius * radius - (radius - d - 0.5) ** 2, 0))) if d < radius else 0
            a, b = max(x0 + inset, 0), min(x1 - inset, WIDTH)
            if a >= b:
                continue
            if isinstance(paint, bytes):
                start = ((y - y0) * slant + a - x0) * 3
                self.rows[y][a * 3:b * 3] = paint[start:start + (b - a) * 3]
            else:
                self.rows[y][a * 3:b * 3] = bytes(paint) * (b - a)

    def dashed(self, x0: int, y0: int, x1: int, y1: int, colour: Colour, dash: int = 8) -> None:
        """A one-pixel dashed frame (a bleed or fold line)."""
        for x in range(x0, x1, dash * 2):
            self.rect(x, y0, min(x + dash, x1), y0 + 1, colour)
            self.rect(x, y1 - 1, min(x + dash, x1), y1, colour)
        for y in range(y0, y1, dash * 2):
            self.rect(x0, y, x0 + 1, min(y + dash, y1), colour)
            self.rect(x1 - 1, y, x1, min(y + dash, y1), colour)

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(row) for row in self.rows)

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 2, 0, 0, 0)  # 8-bit RGB
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def layout_png(seed: int, palette: str = "blue", *, card: bool = True) -> bytes:
    """A 640x400 proof: the card (or a box panel with its flaps) on a light sheet, bleed marks and
    colour swatches. The same (seed, palette, card) always gives the same bytes."""
    stops, stripe, accent, light = PALETTES[palette]
    rng = random.Random(f"{seed}/{palette}/{card}")
    c = _Canvas((236, 239, 243))
    x0, y0, w, h = (44, 42, 500, 316) if card else (74, 92, 440, 232)
    radius = 26 if card else 3
    if not card:  # glue flap and tuck flaps, with fold lines
        c.rect(x0 - 30, y0 + 12, x0, y0 + h - 12, (214, 218, 224))
        c.rect(x0 + 30, y0 - 58, x0 + w - 30, y0, (222, 226, 232), radius=10)
        c.rect(x0 + 30, y0 + h, x0 + w - 30, y0 + h + 58, (222, 226, 232), radius=10)
    c.rect(x0 + 6, y0 + 8, x0 + w + 6, y0 + h + 8, (200, 204, 212), radius)  # shadow
    c.rect(x0, y0, x0 + w, y0 + h, _gradient(stops, w + h), radius, slant=1)
    c.dashed(x0 - 9, y0 - 9, x0 + w + 9, y0 + h + 9, (0, 160, 220))  # bleed line
    if not card:
        c.dashed(x0, y0, x0 + w, y0 + h, (236, 0, 140), dash=5)  # fold lines
    band_top = y0 + h - (96 if card else 84)
    c.rect(x0, band_top, x0 + w, band_top + 56, stripe)  # dark logo / name band
    lx, ly = x0 + w - 150 - rng.randrange(0, 40), y0 + 26 + rng.randrange(0, 12)  # logo: mark + word bars
    c.rect(lx, ly, lx + 42, ly + 42, light, radius=21 if rng.random() < 0.5 else 6)
    c.rect(lx + 10, ly + 10, lx + 32, ly + 32, accent, radius=11 if rng.random() < 0.5 else 3)
    c.rect(lx + 52, ly + 6, lx + 52 + rng.randrange(70, 100), ly + 20, light)
    c.rect(lx + 52, ly + 26, lx + 52 + rng.randrange(40, 70), ly + 34, light)
    if card:  # EMV chip with its contact pads, then the number in groups of four
        cx, cy = x0 + 52, y0 + 104
        c.rect(cx, cy, cx + 70, cy + 54, accent, radius=8)
        for px in (cx + 22, cx + 46):
            c.rect(px, cy + 4, px + 2, cy + 50, stripe)
        for py in (cy + 18, cy + 35):
            c.rect(cx + 4, py, cx + 66, py + 2, stripe)
        for g in range(4):
            c.rect(x0 + 52 + g * 92, y0 + 178, x0 + 52 + g * 92 + 74, y0 + 194, light, radius=4)
    else:  # a barcode and a line of copy
        bx, by = x0 + 40, y0 + 40
        c.rect(bx - 12, by - 12, bx + 176, by + 82, (252, 252, 250), radius=4)
        while bx < x0 + 200:
            bar = rng.choice((2, 2, 3, 5))
            c.rect(bx, by, bx + bar, by + 70, (20, 20, 24))
            bx += bar + rng.choice((2, 3, 4))
        c.rect(x0 + 40, by + 96, x0 + 40 + rng.randrange(180, 260), by + 108, light)
    x = x0 + 40  # text lines on the dark band
    for _ in range(rng.randrange(2, 4)):
        width = min(rng.randrange(60, 150), x0 + w - 40 - x)
        c.rect(x, band_top + 22, x + width, band_top + 34, light)
        x += width + 18
    for i, colour in enumerate((*stops[:3], stripe, accent)):  # colour swatches down the right edge
        c.rect(WIDTH - 64, 56 + i * 58, WIDTH - 24, 96 + i * 58, colour, radius=4)
    return c.png()

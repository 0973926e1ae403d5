"""A small news site whose pages need every kind of requisite, part of them on a second host
(`localhost` for the test server's `127.0.0.1`: another host name, so another robots.txt,
politeness slot and Host header), with colours a screenshot can count.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

RED, BLUE, GREEN, YELLOW, PURPLE = (220, 30, 40), (20, 60, 200), (30, 160, 70), (240, 200, 20), (120, 40, 150)


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour PNG (no imaging library needed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


PARA = ("The regulator published its review of the chip export rules on Tuesday, and the industry "
        "responded within hours with a statement of its own. ")


@dataclass
class Site:
    pages: dict[str, str]  # path -> URL of each article page
    requisites: dict[str, str]  # URL -> kind, every requisite of the pages
    shared: list[str]  # requisites both pages use
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # URL -> (body, content type)


def build(base: str, cdn: str, prefix: str = "/req") -> Site:
    """Two article pages on ``base``; stylesheet, fonts and images partly on ``cdn``."""
    p = prefix
    files: dict[str, tuple[bytes, str]] = {
        f"{cdn}{p}/css/main.css": (
            f'@import url("{cdn}{p}/css/extra.css");\n'
            f'body {{ background: rgb{RED}; margin: 0; font-family: "Site Sans", sans-serif; }}\n'
            f'@font-face {{ font-family: "Site Sans"; src: url("../fonts/site.woff2") format("woff2"); }}\n'
            f'.hero {{ width: 600px; height: 150px; background-image: url(../img/hero-bg.png); }}\n'
            f'article {{ background: #fff; width: 700px; padding: 10px; }}\n'.encode(), "text/css"),
        f"{cdn}{p}/css/extra.css": (f".box {{ border: 12px solid rgb{PURPLE}; }}\n".encode(), "text/css"),
        f"{cdn}{p}/fonts/site.woff2": (b"wOF2" + b"\x00" * 60, "font/woff2"),
        f"{cdn}{p}/img/hero-bg.png": (png(600, 150, BLUE), "image/png"),
        f"{base}{p}/js/app.js": (b"document.documentElement.dataset.js = 'on';", "application/javascript"),
        f"{base}{p}/img/photo-400.png": (png(400, 120, GREEN), "image/png"),
        f"{base}{p}/img/photo-800.png": (png(800, 240, GREEN), "image/png"),
        f"{cdn}{p}/img/photo.webp.png": (png(401, 120, GREEN), "image/png"),
        f"{base}{p}/img/lazy.png": (png(300, 80, YELLOW), "image/png"),
        f"{base}{p}/img/lazy-2x.png": (png(600, 160, YELLOW), "image/png"),
        f"{base}{p}/img/poster.png": (png(320, 90, PURPLE), "image/png"),
        f"{base}{p}/img/inline-bg.png": (png(50, 50, YELLOW), "image/png"),
        f"{base}{p}/img/attr-bg.png": (png(50, 50, BLUE), "image/png"),
        f"{base}/favicon-req.ico": (png(16, 16, RED), "image/png"),
        f"{base}{p}/img/touch.png": (png(32, 32, RED), "image/png"),
    }
    kinds = {
        f"{cdn}{p}/css/main.css": "stylesheet", f"{cdn}{p}/css/extra.css": "stylesheet",
        f"{cdn}{p}/fonts/site.woff2": "font", f"{base}{p}/js/app.js": "script",
        f"{base}/favicon-req.ico": "icon", f"{base}{p}/img/touch.png": "icon",
    }
    requisites = {url: kinds.get(url, "image") for url in files}

    def page(title: str, extra: str) -> str:
        return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="{cdn}{p}/css/main.css"><link rel="icon" href="/favicon-req.ico">
<link rel="apple-touch-icon" href="{p}/img/touch.png"><script src="{p}/js/app.js"></script>
<style>.inline {{ width: 50px; height: 50px; background: url('{p}/img/inline-bg.png'); }}</style></head>
<body><div class="hero"></div><article class="box"><h1>{title}</h1>
<p>{PARA * 3}</p>
<picture><source srcset="{cdn}{p}/img/photo.webp.png" type="image/png">
<img src="{p}/img/photo-400.png" srcset="{p}/img/photo-400.png 1x, {p}/img/photo-800.png 2x" width="400" height="120" alt=""></picture>
<p>{PARA * 2}</p>
<img data-src="{p}/img/lazy.png" data-srcset="{p}/img/lazy.png 300w, {p}/img/lazy-2x.png 600w"
     src="{p}/img/lazy.png" width="300" height="80" alt="">
<video poster="{p}/img/poster.png" width="320" height="90"></video>
<div class="inline"></div><div style="width:50px;height:50px;background-image:url({p}/img/attr-bg.png)"></div>
{extra}<p>{PARA * 2}</p></article></body></html>"""

    pages = {f"{p}/story-one": f"{base}{p}/story-one", f"{p}/story-two": f"{base}{p}/story-two"}
    files[pages[f"{p}/story-one"]] = (page("Chip rules, day one", "").encode(), "text/html; charset=utf-8")
    files[pages[f"{p}/story-two"]] = (page("Chip rules, day two", f"<p>{PARA}</p>").encode(), "text/html; charset=utf-8")
    shared = list(requisites)
    return Site(pages=pages, requisites=requisites, shared=shared, files=files)

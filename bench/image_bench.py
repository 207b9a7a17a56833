"""Image-feature benchmark: milliseconds per image for ``analyze_image`` on a 1080x1080 JPEG.

Draws a deterministic photo-like 1080x1080 picture (gradients, a few hundred soft shapes,
fine texture), encodes it as JPEG (quality 90) and PNG, and times ``analyze_image`` on the
bytes, single-threaded: mean, median and best of ``--n`` runs. It also times the parts
(decode + thumbnail, colourfulness, quantization) so a regression can be placed, and, with
``--fetch``, the end-to-end rate of ``ImageFetcher.analyze`` over the sandbox image server
on loopback (the server runs in the same process, so that figure is a lower bound).

    python bench/image_bench.py --n 200
    python bench/image_bench.py --n 200 --fetch 200
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import statistics
import time
from collections.abc import Callable

import anyio
import PIL
from PIL import Image, ImageDraw, ImageFilter

from within_daemon.sandbox.images import ImageServer, render_image
from within_daemon.sources.images import ImageFetcher
from within_daemon.sources.url_guard import UrlPolicy
from within_daemon.transforms.enrichment import image as im


def photo_like(size: int = 1080, seed: int = 42) -> Image.Image:
    rng = random.Random(seed)
    base = Image.merge("RGB", (
        Image.linear_gradient("L").resize((size, size)),
        Image.radial_gradient("L").resize((size, size)),
        Image.linear_gradient("L").rotate(90).resize((size, size)),
    ))
    draw = ImageDraw.Draw(base)
    for _ in range(300):
        x, y = rng.randrange(size), rng.randrange(size)
        r = rng.randrange(10, 120)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    base = base.filter(ImageFilter.GaussianBlur(3))
    # Fine texture so the JPEG has the high-frequency content of a photo.
    texture = Image.frombytes("L", (size, size), rng.randbytes(size * size))
    return Image.blend(base, Image.merge("RGB", (texture,) * 3), 0.12)


def encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def timed(fn: Callable[[], object], n: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def report(label: str, ms: list[float]) -> None:
    print(f"{label:<38} mean {statistics.fmean(ms):7.2f} ms   median "
          f"{statistics.median(ms):7.2f} ms   best {min(ms):7.2f} ms")


def decode_thumb(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as img:
        img.draft("RGB", (2 * im.THUMBNAIL_PX, 2 * im.THUMBNAIL_PX))
        rgb = img.convert("RGB")
    rgb.thumbnail((im.THUMBNAIL_PX, im.THUMBNAIL_PX), Image.Resampling.BICUBIC)
    return rgb


async def fetch_rate(n: int) -> float:
    server = ImageServer()
    names = [f"p{i}_1080x1080" for i in range(n)]
    for name in names:
        # Render before timing, so the figure is the client's work (the sandbox images
        # are two flat colours: they decode faster than a photo).
        render_image(name, "JPEG")
    policy = UrlPolicy(allow_loopback=True)  # the sandbox image server is on 127.0.0.1
    async with server.serve(), ImageFetcher(max_concurrency=8, policy=policy) as fetcher:
        t = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for name in names:
                tg.start_soon(fetcher.analyze, server.url(f"/img/{name}.jpg"))
        return n / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100, help="timed runs per case")
    ap.add_argument("--fetch", type=int, default=0, help="also analyze N URLs end to end")
    args = ap.parse_args()

    print(f"Python {platform.python_version()}, Pillow {PIL.__version__}, "
          f"{platform.machine()}, {os.cpu_count()} CPUs")
    img = photo_like()
    jpeg = encode(img, "JPEG", quality=90)
    png = encode(img, "PNG")
    print(f"1080x1080 JPEG q90: {len(jpeg):,} bytes; PNG: {len(png):,} bytes")
    print(im.analyze_image(jpeg))

    report("analyze_image(JPEG 1080x1080)", timed(lambda: im.analyze_image(jpeg), args.n))
    report("analyze_image(PNG 1080x1080)", timed(lambda: im.analyze_image(png), args.n // 4 or 1))
    thumb = decode_thumb(jpeg)
    small = thumb.copy()
    small.thumbnail((im.COLOUR_PX, im.COLOUR_PX), Image.Resampling.BOX)
    report("  part: JPEG decode (draft) + thumbnail", timed(lambda: decode_thumb(jpeg), args.n))
    report("  part: luma stats (256 px)", timed(lambda: im._luma_stats(thumb), args.n))
    report("  part: colourfulness (64 px)", timed(lambda: im._colourfulness(small), args.n))
    report("  part: dominant colours (64 px)", timed(lambda: im._dominant(small), args.n))
    if args.fetch:
        rate = anyio.run(fetch_rate, min(args.fetch, 256), backend="asyncio")
        print(f"ImageFetcher.analyze over loopback: {rate:,.0f} images/s "
              f"({min(args.fetch, 256)} distinct sandbox URLs, 8 fetches, 2 analysis threads)")


if __name__ == "__main__":
    main()

"""Creative image features from image bytes: pure, CPU-only, never raises on bad input.

``analyze_image(data)`` turns the bytes of an ad creative into one flat ``ImageFeatures``
row: size and aspect ratio, format, brightness and contrast (mean and standard deviation of
the ITU-R 601 luma, scaled to 0..1), the Hasler–Süsstrunk colourfulness and the three
dominant colours with the share of the first. The bytes are untrusted (they come from
whatever URL an ad names), so every way they can be bad becomes a failure row with a short
``image_status`` from ``STATUSES`` and a one-line ``image_error``, never an exception:
decompression bombs are refused from the header, before any pixel is decoded; corrupt or
truncated data and formats other than JPEG/PNG/WEBP/GIF are refused too.

Speed and memory: the pixels are analysed on a thumbnail of at most ``THUMBNAIL_PX`` on the
long side (JPEGs are decoded straight at a reduced scale through Pillow's draft mode; other
formats decode whole, within ``MAX_DECODE_BYTES``, and are reduced by an integer factor
before any conversion copies them), colours on a smaller copy of at most ``COLOUR_PX``.
There is no I/O here: fetching lives in ``within_daemon.sources.images``, which runs this
function in a worker thread.
"""

from __future__ import annotations

import io
import math
import operator
from collections.abc import Sequence
from typing import Final

import msgspec
from PIL import Image, ImageChops, UnidentifiedImageError, features

from within_daemon.transforms.enrichment.fields import Field, struct_fields

#: Long side of the thumbnail that brightness and contrast are measured on.
THUMBNAIL_PX: Final = 256
#: Long side of the copy that colourfulness and dominant colours are measured on.
COLOUR_PX: Final = 64
#: Colours the median-cut quantizer may use before the top three are picked.
QUANTIZE_COLOURS: Final = 8
#: Most memory one decode may take (a 4096 x 4096 RGBA PNG; JPEGs decode reduced).
MAX_DECODE_BYTES: Final = 64 * 1024 * 1024

#: Formats we decode; WEBP only if this Pillow was built with libwebp.
SUPPORTED_FORMATS: Final[tuple[str, ...]] = tuple(
    f for f in ("JPEG", "PNG", "WEBP", "GIF") if f != "WEBP" or features.check("webp")
)

STATUS_OK: Final = "ok"
# Failures found in the bytes (this module).
STATUS_EMPTY: Final = "empty"
STATUS_CORRUPT: Final = "corrupt"
STATUS_UNSUPPORTED: Final = "unsupported_format"
STATUS_TOO_MANY_PIXELS: Final = "too_many_pixels"
# Failures found while fetching (``within_daemon.sources.images``); listed here so that the
# whole vocabulary of ``image_status`` (a bounded metric label) lives in one place.
STATUS_INVALID_URL: Final = "invalid_url"
STATUS_NOT_FOUND: Final = "not_found"
STATUS_HTTP_ERROR: Final = "http_error"
STATUS_WRONG_TYPE: Final = "wrong_content_type"
STATUS_TOO_LARGE: Final = "too_large"
STATUS_TIMEOUT: Final = "timeout"
STATUS_FETCH_ERROR: Final = "fetch_error"
#: The URL's host is not public (loopback, private, link-local...) or not allow-listed.
STATUS_REFUSED_HOST: Final = "refused_host"

#: Every value ``image_status`` can take.
STATUSES: Final[tuple[str, ...]] = (
    STATUS_OK, STATUS_EMPTY, STATUS_CORRUPT, STATUS_UNSUPPORTED, STATUS_TOO_MANY_PIXELS,
    STATUS_INVALID_URL, STATUS_NOT_FOUND, STATUS_HTTP_ERROR, STATUS_WRONG_TYPE,
    STATUS_TOO_LARGE, STATUS_TIMEOUT, STATUS_FETCH_ERROR, STATUS_REFUSED_HOST,
)

_MAX_ERROR_CHARS: Final = 200


class ImageFeatures(msgspec.Struct, frozen=True, kw_only=True):
    """One creative's image features; on failure only status and error are set."""

    image_width: int | None = None
    image_height: int | None = None
    #: width / height, 4 decimals.
    image_aspect_ratio: float | None = None
    #: Pillow's format name: JPEG, PNG, WEBP or GIF.
    image_format: str | None = None
    #: Mean luma, 0 (black) .. 1 (white), 4 decimals.
    image_brightness: float | None = None
    #: Population standard deviation of luma, 0 .. 0.5, 4 decimals.
    image_contrast: float | None = None
    #: Hasler–Süsstrunk M on 0..255 RGB (0 grey; ~15 slightly, ~45 moderately, >100
    #: extremely colourful), measured on the COLOUR_PX copy, 2 decimals.
    image_colourfulness: float | None = None
    #: Up to three "#rrggbb" joined by "|", most frequent first (fewer if the image has
    #: fewer colours).
    image_dominant_colours: str | None = None
    #: Share of the pixels in the most frequent quantized colour, 0..1, 4 decimals.
    image_dominant_share: float | None = None
    #: "ok" or one of the failure values in STATUSES.
    image_status: str
    #: None, or one line saying what went wrong.
    image_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.image_status == STATUS_OK


def fields() -> tuple[Field, ...]:
    """The feature fields as ``(name, scalar type)``, in field order (columns: the loader)."""
    return struct_fields(ImageFeatures)


def failed(reason: str, error: str | None = None) -> ImageFeatures:
    """A failure row: ``reason`` is one of ``STATUSES`` (not "ok"), ``error`` a short text."""
    if reason == STATUS_OK or reason not in STATUSES:
        raise ValueError(f"not a failure status: {reason!r}")
    if error is not None and len(error) > _MAX_ERROR_CHARS:
        error = error[: _MAX_ERROR_CHARS - 1] + "…"
    return ImageFeatures(image_status=reason, image_error=error)


def analyze_image(data: bytes, *, max_pixels: int = 40_000_000,
                  max_decode_bytes: int = MAX_DECODE_BYTES) -> ImageFeatures:
    """Features of the image in ``data``, or a failure row; never raises on bad bytes.

    ``max_pixels`` caps width × height as read from the header, before decoding. Pillow's
    own guard (``Image.MAX_IMAGE_PIXELS``) still applies on top: above twice that limit
    the image is refused at open; between once and twice it emits a
    ``DecompressionBombWarning`` before our smaller cap refuses it. ``max_decode_bytes``
    caps the memory of the decode itself: JPEGs decode at a reduced scale (draft), so
    they stay small whatever their size; other formats decode whole, so one whose pixels
    would need more than this is refused before decoding.
    """
    if not data:
        return failed(STATUS_EMPTY, "no bytes")
    try:
        return _analyze(data, max_pixels, max_decode_bytes)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # The warning is only raised when warnings are errors (python -W error).
        return failed(STATUS_TOO_MANY_PIXELS, str(exc))
    except UnidentifiedImageError:
        return _unidentified(data)
    except MemoryError:
        return failed(STATUS_TOO_MANY_PIXELS, "out of memory while decoding")
    except Exception as exc:
        # Untrusted bytes reach several C decoders and Python parsers, which raise OSError,
        # ValueError, SyntaxError, EOFError, struct.error...: all mean "bad bytes" here.
        return failed(STATUS_CORRUPT, f"{type(exc).__name__}: {exc}")


def _analyze(data: bytes, max_pixels: int, max_decode_bytes: int) -> ImageFeatures:
    with Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS) as img:
        width, height = img.size
        fmt = img.format or "?"
        if width <= 0 or height <= 0:
            return failed(STATUS_CORRUPT, f"bad size {width}x{height}")
        if width * height > max_pixels:
            return failed(
                STATUS_TOO_MANY_PIXELS,
                f"{width}x{height} is more than {max_pixels} pixels",
            )
        # JPEG only: decode at 1/2, 1/4 or 1/8 scale straight from the DCT, keeping at
        # least twice the thumbnail so the final resize still has pixels to average.
        img.draft("RGB", (2 * THUMBNAIL_PX, 2 * THUMBNAIL_PX))
        need = _decode_bytes(img)
        if need > max_decode_bytes:
            return failed(
                STATUS_TOO_MANY_PIXELS,
                f"{width}x{height} {fmt} would take {need >> 20} MiB to decode "
                f"(limit {max_decode_bytes >> 20} MiB)",
            )
        rgb = _to_rgb(_reduced(img))
    rgb.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.BICUBIC)
    brightness, contrast = _luma_stats(rgb)
    # Shrunk again in place (its luma was all the 256 px thumbnail was for). BOX: each small
    # pixel is the plain average of the pixels it covers, which is what a colour histogram
    # of the image should see.
    rgb.thumbnail((COLOUR_PX, COLOUR_PX), Image.Resampling.BOX)
    colours, share = _dominant(rgb)
    return ImageFeatures(
        image_width=width,
        image_height=height,
        image_aspect_ratio=round(width / height, 4),
        image_format=fmt,
        image_brightness=round(brightness, 4),
        image_contrast=round(contrast, 4),
        image_colourfulness=round(_colourfulness(rgb), 2),
        image_dominant_colours=colours,
        image_dominant_share=round(share, 4),
        image_status=STATUS_OK,
    )


def _decode_bytes(img: Image.Image) -> int:
    """Bytes Pillow holds for the decoded image (multi-band modes take 4 bytes a pixel)."""
    w, h = img.size
    if img.mode in ("1", "L", "P"):
        per = 1
    elif img.mode.startswith("I;16"):
        per = 2
    else:
        per = 4
    return w * h * per


def _reduced(img: Image.Image) -> Image.Image:
    """The decoded image shrunk by an integer factor to about twice the thumbnail.

    Done before any conversion, so the RGB / alpha copies are made at the small size;
    ``reduce`` averages blocks; with alpha it would first copy the whole image premultiplied,
    so those, and modes it does not take (palette, 16-bit), are sampled instead.
    """
    img.load()
    factor = max(img.size) // (2 * THUMBNAIL_PX)
    if factor < 2:
        return img
    if img.mode in ("L", "RGB", "I", "F"):
        return img.reduce(factor)
    w, h = img.size
    return img.resize((max(1, w // factor), max(1, h // factor)), Image.Resampling.NEAREST)


def _to_rgb(img: Image.Image) -> Image.Image:
    """Decode and convert to RGB; transparency is flattened onto white, as ads show it."""
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit greyscale PNG: scale to 8 bits (a plain convert would clip to white).
        img = img.point(lambda v: v * (1 / 256)).convert("L")
    has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        img.mode == "P" and "transparency" in img.info
    )
    if has_alpha:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


#: Each 8-bit value, and its square: a histogram's sums Σv·c and Σv²·c as one dot product
#: each (``map(operator.mul, ...)`` in C; exact integers, as a loop's were).
_V: Final = tuple(range(256))
_V2: Final = tuple(v * v for v in range(256))


def _moment(weights: tuple[int, ...], hist: Sequence[int]) -> int:
    return sum(map(operator.mul, weights, hist))


def _luma_stats(rgb: Image.Image) -> tuple[float, float]:
    """Mean and population standard deviation of 8-bit luma, both divided by 255."""
    hist = rgb.convert("L").histogram()
    n = sum(hist)
    total = _moment(_V, hist)
    total_sq = _moment(_V2, hist)
    mean = total / n
    var = max(0.0, total_sq / n - mean * mean)
    return mean / 255.0, math.sqrt(var) / 255.0


def _colourfulness(rgb: Image.Image) -> float:
    """Hasler & Süsstrunk (2003): σ_rgyb + 0.3·μ_rgyb over rg = R−G, yb = (R+G)/2 − B.

    The sums come from histograms (in C), not from a Python loop over the pixels, which
    took 1.3 ms an image, over half of the analysis: the bands' sums from the image's
    histogram; Σrg² from the histogram of |R−G|; and Σ(R+G−2B)², with a = R−B and
    c = G−B, is Σ(a+c)² = 2Σa² + 2Σc² − Σ(a−c)², where a−c = R−G: three histograms of
    absolute differences. Every sum is an integer (yb's halved, its squares quartered,
    exact in binary), as the loop's were, so the floats are the same.
    """
    red, green, blue = rgb.split()
    n = rgb.width * rgb.height
    hist = rgb.histogram()  # 256 counts per band
    sr, sg, sb = (_moment(_V, hist[k:k + 256]) for k in (0, 256, 512))
    s_rg2, s_rb2, s_gb2 = (_moment(_V2, ImageChops.difference(x, y).histogram())
                           for x, y in ((red, green), (red, blue), (green, blue)))
    sum_rg, sum_rg2 = float(sr - sg), float(s_rg2)
    sum_yb = (sr + sg - 2 * sb) * 0.5
    sum_yb2 = (2 * s_rb2 + 2 * s_gb2 - s_rg2) * 0.25
    mean_rg, mean_yb = sum_rg / n, sum_yb / n
    var_rg = max(0.0, sum_rg2 / n - mean_rg * mean_rg)
    var_yb = max(0.0, sum_yb2 / n - mean_yb * mean_yb)
    return math.sqrt(var_rg + var_yb) + 0.3 * math.hypot(mean_rg, mean_yb)


def _dominant(rgb: Image.Image) -> tuple[str, float]:
    """Top three colours of a median-cut quantization, and the first one's pixel share."""
    quantized = rgb.quantize(colors=QUANTIZE_COLOURS, method=Image.Quantize.MEDIANCUT)
    palette = quantized.getpalette() or []
    counts: dict[str, int] = {}
    for count, index in quantized.getcolors(256) or []:
        if not isinstance(index, int):  # a "P" image always yields palette indices
            continue
        red, green, blue = palette[3 * index : 3 * index + 3]
        key = f"#{red:02x}{green:02x}{blue:02x}"
        counts[key] = counts.get(key, 0) + count
    # Ties broken by the colour itself, so the output never depends on palette order.
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    total = sum(counts.values())
    return "|".join(k for k, _ in ranked[:3]), ranked[0][1] / total


# Magic numbers of image formats we recognise but do not decode, so that "not an image"
# (corrupt) and "an image we refuse" (unsupported_format) stay apart without handing the
# bytes to every Pillow plugin.
_OTHER_MAGIC: Final[tuple[tuple[bytes, str], ...]] = (
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"8BPS", "PSD"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
)
_OWN_MAGIC: Final[tuple[tuple[bytes, str], ...]] = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
)


def sniff_format(data: bytes) -> str | None:
    """The image format the first bytes announce, or None; no decoding."""
    for magic, name in _OWN_MAGIC + _OTHER_MAGIC:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis", b"heic", b"heix", b"mif1"):
        return "AVIF/HEIF"
    head = data[:256].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in data[:1024]):
        return "SVG"
    return None


def _unidentified(data: bytes) -> ImageFeatures:
    name = sniff_format(data)
    if name is None:
        return failed(STATUS_CORRUPT, "not an image")
    if name in SUPPORTED_FORMATS:
        return failed(STATUS_CORRUPT, f"{name} header but undecodable data")
    return failed(STATUS_UNSUPPORTED, f"{name} is not one of {', '.join(SUPPORTED_FORMATS)}")

"""Image features from bytes: hand-computed values on synthetic images, and every refusal."""

from __future__ import annotations

import io
import math
import random

import msgspec
import pytest
from PIL import Image

from within_daemon.loaders.schema.columns import sql_columns
from within_daemon.sandbox.images import bomb_png, corrupt_bytes
from within_daemon.transforms.enrichment.image import (
    STATUSES,
    SUPPORTED_FORMATS,
    ImageFeatures,
    _colourfulness,
    analyze_image,
    failed,
    fields,
)


def encode(img: Image.Image, fmt: str = "PNG", **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def solid(colour: tuple[int, int, int], size: tuple[int, int] = (100, 50)) -> bytes:
    return encode(Image.new("RGB", size, colour))


def stripes(size: tuple[int, int], bands: list[tuple[int, tuple[int, int, int]]]) -> bytes:
    """Vertical bands of (width, colour), left to right."""
    img = Image.new("RGB", size)
    x = 0
    for width, colour in bands:
        img.paste(colour, (x, 0, x + width, size[1]))
        x += width
    return encode(img)


# -- values computed by hand -------------------------------------------------------------------


def test_pure_white_is_bright_flat_and_colourless() -> None:
    """Pure white: brightness 1, contrast 0, colourfulness 0, one dominant colour at 100%."""
    f = analyze_image(solid((255, 255, 255)))
    assert f.image_status == "ok" and f.image_error is None
    assert (f.image_brightness, f.image_contrast, f.image_colourfulness) == (1.0, 0.0, 0.0)
    assert f.image_dominant_colours == "#ffffff"
    assert f.image_dominant_share == 1.0


def test_pure_black_has_zero_brightness() -> None:
    """Pure black: brightness 0, contrast 0, colourfulness 0."""
    f = analyze_image(solid((0, 0, 0)))
    assert (f.image_brightness, f.image_contrast, f.image_colourfulness) == (0.0, 0.0, 0.0)


def test_pure_red_luma_and_colourfulness() -> None:
    """Pure red: luma 76/255 (Pillow's 601 integer weights); M = 0.3·√(255² + 127.5²) = 85.53."""
    # rg = 255 and yb = 127.5 everywhere: both σ are 0, μ_rgyb = 285.0987...
    f = analyze_image(solid((255, 0, 0)))
    assert f.image_brightness == 0.298  # 76 / 255 = 0.29804
    assert f.image_contrast == 0.0
    assert f.image_colourfulness == 85.53
    assert f.image_dominant_colours == "#ff0000"


def test_half_black_half_white_has_contrast_one_half() -> None:
    """Half black, half white: mean luma 127.5/255 = 0.5 and population std 127.5/255 = 0.5."""
    f = analyze_image(stripes((200, 100), [(100, (0, 0, 0)), (100, (255, 255, 255))]))
    assert (f.image_brightness, f.image_contrast, f.image_colourfulness) == (0.5, 0.5, 0.0)
    assert f.image_dominant_colours == "#000000|#ffffff"  # a tie is ordered by the colour
    assert f.image_dominant_share == 0.5


def test_half_red_half_green_colourfulness() -> None:
    """Red|green halves: rg = ±255 (σ 255, μ 0), yb = 127.5 (σ 0): M = 255 + 0.3·127.5 = 293.25."""
    f = analyze_image(stripes((100, 20), [(50, (255, 0, 0)), (50, (0, 255, 0))]))
    assert f.image_colourfulness == 293.25


def test_dominant_colours_of_a_two_colour_image() -> None:
    """96 red columns and 32 blue ones: red first with share 0.75, then blue."""
    f = analyze_image(stripes((128, 64), [(96, (255, 0, 0)), (32, (0, 0, 255))]))
    assert f.image_dominant_colours == "#ff0000|#0000ff"
    assert f.image_dominant_share == 0.75


def test_dominant_colours_keep_the_top_three_in_order() -> None:
    """Four bands of 56/40/24/8 columns: the top three by area, share 56/128 = 0.4375."""
    bands = [(8, (255, 255, 255)), (24, (0, 0, 255)), (56, (255, 0, 0)), (40, (0, 255, 0))]
    f = analyze_image(stripes((128, 8), bands))
    assert f.image_dominant_colours == "#ff0000|#00ff00|#0000ff"
    assert f.image_dominant_share == 0.4375


@pytest.mark.parametrize(
    ("size", "ratio"), [((300, 200), 1.5), ((100, 300), 0.3333), ((1200, 628), 1.9108)]
)
def test_aspect_ratio_is_width_over_height_to_four_decimals(
    size: tuple[int, int], ratio: float
) -> None:
    """Aspect ratio is width / height rounded to 4 decimals, with the original dimensions."""
    f = analyze_image(solid((10, 20, 30), size))
    assert (f.image_width, f.image_height, f.image_aspect_ratio) == (*size, ratio)


def test_large_jpeg_reports_original_size_though_decoded_small() -> None:
    """A 1080x1080 JPEG decoded in draft mode still reports 1080x1080 and its grey level."""
    f = analyze_image(encode(Image.new("RGB", (1080, 1080), (128, 128, 128)), "JPEG"))
    assert (f.image_format, f.image_width, f.image_height) == ("JPEG", 1080, 1080)
    assert f.image_brightness == pytest.approx(128 / 255, abs=0.005)
    assert f.image_contrast == pytest.approx(0.0, abs=0.005)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_each_supported_format_is_named(fmt: str) -> None:
    """JPEG, PNG, GIF and WEBP decode and report Pillow's format name."""
    if fmt not in SUPPORTED_FORMATS:
        pytest.skip(f"this Pillow cannot decode {fmt}")
    f = analyze_image(encode(Image.new("RGB", (40, 30), (0, 128, 255)), fmt))
    assert f.image_status == "ok"
    assert f.image_format == fmt


def test_transparency_is_flattened_onto_white() -> None:
    """A fully transparent PNG reads as white (how ad surfaces show it)."""
    f = analyze_image(encode(Image.new("RGBA", (20, 20), (0, 0, 0, 0))))
    assert f.image_brightness == 1.0
    assert f.image_dominant_colours == "#ffffff"


def test_sixteen_bit_greyscale_is_scaled_not_clipped() -> None:
    """A 16-bit grey PNG at 40000/65535 reads as 8-bit 156, i.e. brightness 156/255."""
    f = analyze_image(encode(Image.new("I;16", (20, 20), 40000)))
    assert f.image_brightness == round(156 / 255, 4)


# -- refusals ----------------------------------------------------------------------------------


def test_empty_bytes_are_refused() -> None:
    """No bytes give status 'empty'."""
    assert analyze_image(b"").image_status == "empty"


def test_bytes_that_are_not_an_image_are_corrupt() -> None:
    """Random bytes give status 'corrupt', not an exception."""
    f = analyze_image(corrupt_bytes())
    assert (f.image_status, f.image_error) == ("corrupt", "not an image")
    assert f.image_width is None and f.image_brightness is None


def test_truncated_jpeg_is_corrupt() -> None:
    """A JPEG cut in half is refused as 'corrupt' with the decoder's message."""
    data = encode(Image.new("RGB", (200, 200), (1, 2, 3)), "JPEG")
    f = analyze_image(data[: len(data) // 2])
    assert f.image_status == "corrupt"
    assert f.image_error


def test_png_signature_with_garbage_is_corrupt() -> None:
    """A PNG signature followed by junk is 'corrupt' (it claims to be a format we read)."""
    f = analyze_image(b"\x89PNG\r\n\x1a\n" + corrupt_bytes(100))
    assert f.image_status == "corrupt"


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "ICO"])
def test_other_image_formats_are_unsupported(fmt: str) -> None:
    """BMP, TIFF and ICO are recognised but refused as 'unsupported_format'."""
    f = analyze_image(encode(Image.new("RGB", (16, 16), (9, 9, 9)), fmt))
    assert f.image_status == "unsupported_format"
    assert f.image_error is not None and fmt in f.image_error


def test_svg_is_unsupported() -> None:
    """An SVG document is 'unsupported_format', not 'corrupt'."""
    f = analyze_image(b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>')
    assert f.image_status == "unsupported_format"


def test_decompression_bomb_beyond_pillows_limit_is_refused() -> None:
    """A PNG header claiming 100000x100000 is refused as 'too_many_pixels' before decoding."""
    f = analyze_image(bomb_png(100_000, 100_000))
    assert f.image_status == "too_many_pixels"


def test_image_over_our_pixel_cap_is_refused_from_the_header() -> None:
    """8000x6000 (48 Mpx, under Pillow's limit) is refused by the 40 Mpx default cap."""
    f = analyze_image(bomb_png(8000, 6000))
    assert f.image_status == "too_many_pixels"
    assert f.image_error == "8000x6000 is more than 40000000 pixels"


def test_max_pixels_is_honoured() -> None:
    """max_pixels=9999 refuses a 100x100 image and max_pixels=10000 accepts it."""
    data = solid((1, 1, 1), (100, 100))
    assert analyze_image(data, max_pixels=9999).image_status == "too_many_pixels"
    assert analyze_image(data, max_pixels=10_000).image_status == "ok"


def test_mangled_images_never_raise() -> None:
    """300 randomly mangled PNG/JPEG/GIF files each give a row with a known status."""
    rng = random.Random(7)
    base = Image.new("RGB", (64, 48), (200, 30, 90))
    originals = [encode(base, fmt) for fmt in ("PNG", "JPEG", "GIF")]
    for i in range(300):
        data = bytearray(originals[i % 3])
        for _ in range(rng.randint(1, 12)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(1, len(data))]
        f = analyze_image(bytes(data))
        assert isinstance(f, ImageFeatures)
        assert f.image_status in STATUSES


# -- API shape ---------------------------------------------------------------------------------


def test_columns_match_the_struct_with_sql_types() -> None:
    """The loader's columns list every field, in order, with INTEGER/REAL/TEXT."""
    assert list(sql_columns(fields())) == [
        ("image_width", "INTEGER"),
        ("image_height", "INTEGER"),
        ("image_aspect_ratio", "REAL"),
        ("image_format", "TEXT"),
        ("image_brightness", "REAL"),
        ("image_contrast", "REAL"),
        ("image_colourfulness", "REAL"),
        ("image_dominant_colours", "TEXT"),
        ("image_dominant_share", "REAL"),
        ("image_status", "TEXT"),
        ("image_error", "TEXT"),
    ]
    assert [n for n, _ in fields()] == list(ImageFeatures.__struct_fields__)


def test_failed_builds_an_empty_row_and_rejects_unknown_reasons() -> None:
    """failed() sets only status and a capped error; 'ok' and unknown reasons are refused."""
    f = failed("timeout", "x" * 500)
    assert f.image_status == "timeout" and f.image_width is None
    assert f.image_error is not None and len(f.image_error) == 200
    with pytest.raises(ValueError):
        failed("ok")
    with pytest.raises(ValueError):
        failed("no_such_reason")


def test_features_are_frozen_and_encode_as_a_flat_row() -> None:
    """ImageFeatures is immutable and encodes to a flat JSON object of scalars."""
    f = analyze_image(solid((255, 255, 255)))
    with pytest.raises(AttributeError):
        f.image_width = 1  # type: ignore[misc]
    row = msgspec.json.decode(msgspec.json.encode(f))
    assert all(not isinstance(v, dict | list) for v in row.values())
    assert row["image_status"] == "ok"


# -- bounded decoding --------------------------------------------------------------------------


def test_png_too_big_to_decode_within_the_memory_cap_is_refused() -> None:
    """A 5000x5000 RGBA PNG (100 MB decoded) is refused before decoding; JPEGs decode reduced."""
    big = encode(Image.new("RGBA", (5000, 5000), (10, 20, 30, 255)))
    f = analyze_image(big)
    assert f.image_status == "too_many_pixels" and "MiB to decode" in str(f.image_error)
    assert analyze_image(big, max_decode_bytes=128 << 20).image_status == "ok"
    jpeg = encode(Image.new("RGB", (7000, 5000), (10, 20, 30)), "JPEG")
    f = analyze_image(jpeg)
    assert (f.image_status, f.image_width) == ("ok", 7000)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "L", "I;16"])
def test_large_images_are_reduced_before_conversion(mode: str) -> None:
    """Images above twice the thumbnail are reduced first; their measures do not change."""
    colour: object = {"RGB": (200, 10, 10), "RGBA": (200, 10, 10, 255), "P": 3,
                      "L": 90, "I;16": 30000}[mode]
    small = Image.new(mode, (300, 200), colour)  # type: ignore[arg-type]
    large = Image.new(mode, (3000, 2000), colour)  # type: ignore[arg-type]
    a, b = analyze_image(encode(small)), analyze_image(encode(large))
    assert a.image_status == b.image_status == "ok"
    assert (a.image_brightness, a.image_dominant_colours) == (
        b.image_brightness, b.image_dominant_colours)


def _colourfulness_pixel_by_pixel(rgb: Image.Image) -> float:
    """The former loop over every pixel, kept as the oracle of ``_colourfulness``."""
    raw = rgb.tobytes()
    r, g, b = raw[0::3], raw[1::3], raw[2::3]
    n = len(r)
    sum_rg = sum_rg2 = sum_yb = sum_yb2 = 0.0
    for x, y, z in zip(r, g, b, strict=True):
        rg = x - y
        yb = (x + y) * 0.5 - z
        sum_rg += rg
        sum_rg2 += rg * rg
        sum_yb += yb
        sum_yb2 += yb * yb
    mean_rg, mean_yb = sum_rg / n, sum_yb / n
    var_rg = max(0.0, sum_rg2 / n - mean_rg * mean_rg)
    var_yb = max(0.0, sum_yb2 / n - mean_yb * mean_yb)
    return math.sqrt(var_rg + var_yb) + 0.3 * math.hypot(mean_rg, mean_yb)


def test_colourfulness_from_histograms_is_the_pixel_loop_bit_for_bit() -> None:
    rnd = random.Random(2003)
    for i in range(600):
        w, h = rnd.randint(1, 64), rnd.randint(1, 64)
        pick = (lambda: rnd.randrange(256), lambda: rnd.choice((0, 255)),
                lambda: rnd.randrange(250, 256), lambda: rnd.randrange(3))[i % 4]
        img = Image.frombytes("RGB", (w, h), bytes(pick() for _ in range(w * h * 3)))
        assert repr(_colourfulness(img)) == repr(_colourfulness_pixel_by_pixel(img))

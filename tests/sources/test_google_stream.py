"""ArrayStream: a JSON array of objects cut into its elements as bytes arrive, any split."""

from __future__ import annotations

import random

import msgspec
import pytest

from within_daemon.sources.google.stream import ArrayStream

BATCHES = [
    {"results": [{"adGroupAd": {"ad": {"id": "1", "name": "Shoes {KeyWord:Shoes} ]}"}},
                  "metrics": {"clicks": "3", "conversions": 1.5}}],
     "fieldMask": "adGroupAd.ad.id", "requestId": "r1"},
    {"results": [{"note": "quote \" and backslash \\ and [brackets]"}], "requestId": "r2"},
    {"fieldMask": "x", "requestId": "r3", "queryResourceConsumption": "9"},
    {"error": {"code": 500, "message": "Internal error encountered.", "details": []}},
]


def feed_all(body: bytes, cuts: list[int], exact_after: int = 10**9) -> list[object]:
    dec, out, at = ArrayStream(exact_after=exact_after), [], 0
    for c in [*cuts, len(body)]:
        out += dec.feed(body[at:c])
        at = c
    return out + dec.close()


@pytest.mark.parametrize("indent", [False, True])
def test_every_split_gives_the_same_elements(indent: bool) -> None:
    """Byte by byte or cut at random, strings with brackets and escapes: same elements."""
    body = msgspec.json.encode(BATCHES)
    if indent:
        body = msgspec.json.format(body, indent=2)
    for exact_after in (10**9, 0):  # the fast path and the exact scan
        assert feed_all(body, list(range(1, len(body))), exact_after) == BATCHES
        rnd = random.Random(7)
        for _ in range(50):
            cuts = sorted(rnd.sample(range(1, len(body)), 5))
            assert feed_all(body, cuts, exact_after) == BATCHES


@pytest.mark.parametrize("exact_after", [10**9, 0])
def test_elements_come_out_before_the_array_ends(exact_after: int) -> None:
    """An element is returned once the next one has begun (fast path) or has ended (exact)."""
    parts = [msgspec.json.encode(b) for b in BATCHES]
    dec = ArrayStream(exact_after=exact_after)
    got = dec.feed(b" [" + parts[0][:-1])
    got += dec.feed(parts[0][-1:] + b",")
    got += dec.feed(parts[1][:14])
    assert got == [BATCHES[0]]
    assert dec.feed(parts[1][14:] + b"," + parts[2] + b"," + parts[3][:20]) == BATCHES[1:3]
    assert dec.feed(parts[3][20:] + b"]") + dec.close() == [BATCHES[3]]


def test_exact_scan_takes_over_for_unknown_batch_keys() -> None:
    """Batches that open with an unknown key are still cut, by the exact scan."""
    odd = [{"newKey": 1, "results": [{"a": {"b": [1, {"c": "}]"}]}}]}, {"newKey": 2}]
    body = msgspec.json.encode(odd)
    dec = ArrayStream(exact_after=8)
    out = [e for i in range(len(body)) for e in dec.feed(body[i:i + 1])]
    assert out + dec.close() == odd and out == odd


@pytest.mark.parametrize("body", [
    b'{"results": []}', b'[{"a": 1}, 2]', b'["x"]', b'[{"a": 1}] [', b'[{"a": 1}',
    b'[{"a": "unterminated}]',
])
def test_what_is_not_a_whole_array_of_objects_is_refused(body: bytes) -> None:
    """Not an array, a scalar element, data after the end, or a cut stream: an error."""
    for exact_after in (10**9, 0):
        dec = ArrayStream(exact_after=exact_after)
        with pytest.raises(ValueError):
            dec.feed(body)
            dec.close()


def test_an_empty_array_and_a_batch_too_large() -> None:
    """[] is fine; an element past max_element bytes is refused while it streams in."""
    dec = ArrayStream()
    assert dec.feed(b"[ ]") == [] and dec.close() == [] and dec.done
    big = ArrayStream(max_element=100, exact_after=50)
    with pytest.raises(ValueError, match="larger than 100"):
        big.feed(b'[{"a": "' + b"x" * 200)

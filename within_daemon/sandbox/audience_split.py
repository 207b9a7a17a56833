"""Deterministic demographic splits for the emulators' audience reports (pure).

An entity (an ad, an ad group) gets a fixed profile over segments (age bands, genders):
integer weights from a hash of the entity and the segment, the same every day, so its
breakdown is stable like a real audience. ``split`` divides each metric of a day's total
over the segments by largest remainder, so the segment rows add up exactly to the total
the emulator reports without the breakdown (what a client may check).
"""

from __future__ import annotations

from collections.abc import Sequence

from within_daemon.sandbox.numbers import mix64

_MASK = (1 << 64) - 1


def weights(entity: int, segments: Sequence[str], *, salt: int = 0) -> list[int]:
    """Positive integer weights of ``segments`` for ``entity`` (some segments small)."""
    out = []
    for k, _ in enumerate(segments):
        h = mix64((entity * 0x9E3779B97F4A7C15 + (k + 1) * 0xBF58476D1CE4E5B9 + salt) & _MASK)
        out.append(1 + (h % 100) * (1 + (h >> 20) % 3))
    return out


def split(value: int, w: Sequence[int]) -> list[int]:
    """``value`` divided in proportion to ``w`` (largest remainder): the parts sum to it."""
    total = sum(w)
    parts = [value * x // total for x in w]
    rest = value - sum(parts)
    order = sorted(range(len(w)), key=lambda i: (-(value * w[i] % total), i))
    for i in order[:rest]:
        parts[i] += 1
    return parts

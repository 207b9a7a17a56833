"""Deterministic numbers every emulator draws from: a 64-bit mixer and money strings.

Each platform's ``data`` module derives its accounts, ads and daily metrics from ``mix64``
of stable seeds, so the same account gives the same rows on every run and every machine.
"""

from __future__ import annotations

_MASK = (1 << 64) - 1


def mix64(x: int) -> int:
    """SplitMix64 finaliser: a cheap, well-spread integer hash."""
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def money(cents: int) -> str:
    """Graph money string, e.g. ``1435 -> "14.35"`` (negative values keep their sign)."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"

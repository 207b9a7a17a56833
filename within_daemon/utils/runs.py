"""Items cut greedily into consecutive runs within a size budget.

The post-load steps bound their memory and their transactions by cutting ordered items
(days, ads) into runs: a run takes the next item while the run stays within the budget,
and an item larger than the budget is a run alone (with any items of size 0 just before it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


def greedy_runs(sized: Iterable[tuple[T, int]], budget: int, *,
                max_items: int | None = None) -> list[list[T]]:
    """``sized``'s items, in order, as runs of at most ``budget`` total size.

    A new run starts when the current one has some size and the next item would take it
    past ``budget``, or when it holds ``max_items`` items already.
    """
    runs: list[list[T]] = []
    current: list[T] = []
    size = 0
    for item, n in sized:
        if current and ((size and size + n > budget)
                        or (max_items is not None and len(current) >= max_items)):
            runs.append(current)
            current, size = [], 0
        current.append(item)
        size += n
    if current:
        runs.append(current)
    return runs

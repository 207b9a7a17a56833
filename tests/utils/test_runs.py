"""``utils.runs.greedy_runs``: order kept, every item once, the budget and the item cap."""

from __future__ import annotations

import random

from within_daemon.utils.runs import greedy_runs


def test_runs_keep_order_and_stay_within_the_budget() -> None:
    sized = [("a", 3), ("b", 4), ("c", 30), ("d", 1), ("e", 2), ("f", 9)]
    # "c" alone is over the budget: a run of its own.
    assert greedy_runs(sized, 10) == [["a", "b"], ["c"], ["d", "e"], ["f"]]
    assert greedy_runs(sized, 100) == [["a", "b", "c", "d", "e", "f"]]
    assert greedy_runs(sized, 100, max_items=4) == [["a", "b", "c", "d"], ["e", "f"]]
    assert greedy_runs([], 10) == []


def test_a_run_without_size_takes_the_next_item() -> None:
    # Days without rows: a run of them takes the next day whatever its size (it is not
    # over any budget yet); a run past its budget (one large day) ends at the next day.
    assert greedy_runs([("d1", 0), ("d2", 50), ("d3", 0), ("d4", 5)], 10) == [
        ["d1", "d2"], ["d3", "d4"]]


def test_random_cuts_cover_every_item_once() -> None:
    rnd = random.Random(3)
    for _ in range(200):
        sized = [(i, rnd.choice([0, 1, 2, 5, 40])) for i in range(rnd.randrange(0, 30))]
        budget, cap = rnd.randrange(1, 60), rnd.choice([None, 1, 3, 7])
        runs = greedy_runs(sized, budget, max_items=cap)
        assert [i for run in runs for i in run] == [i for i, _ in sized]
        size = dict(sized)
        for run in runs:
            total = sum(size[i] for i in run)
            # Over the budget only when a lone sized item (with empty days around) is.
            assert total <= budget or sum(1 for i in run if size[i]) == 1
            assert cap is None or len(run) <= cap

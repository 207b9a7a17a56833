"""``runtime.overlap.overlapped``: order kept, stages overlapped, bounded, errors as themselves."""

from __future__ import annotations

import anyio
import pytest

from within_daemon.errors import LoaderError
from within_daemon.runtime.overlap import overlapped


class Trace:
    """Records each stage's start and end, and how many items are read but not written."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.written: list[int] = []

    async def read(self, item: int) -> int:
        self.events.append(f"read {item}")
        await anyio.sleep(0)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        return item * 10

    async def compute(self, data: int) -> int:
        self.events.append(f"compute {data // 10}")
        # Long enough for the other stages to run meanwhile.
        for _ in range(5):
            await anyio.sleep(0)
        self.events.append(f"computed {data // 10}")
        return data + 1

    async def write(self, out: int) -> None:
        self.events.append(f"write {out // 10}")
        await anyio.sleep(0)
        self.events.append(f"wrote {out // 10}")
        self.written.append(out)
        self.in_flight -= 1


async def test_every_item_written_in_order_with_the_stages_overlapping() -> None:
    trace = Trace()
    await overlapped(range(8), trace.read, trace.compute, trace.write)
    assert trace.written == [i * 10 + 1 for i in range(8)]
    ev = trace.events
    # The next item is read while this one is computed, and this one written while the
    # next is computed.
    assert ev.index("read 1") < ev.index("computed 0")
    assert ev.index("compute 1") < ev.index("wrote 0")
    # Never more than one item waiting, one being computed and one being written.
    assert trace.most_in_flight <= 3


async def test_without_overlap_one_item_at_a_time() -> None:
    trace = Trace()
    await overlapped(range(4), trace.read, trace.compute, trace.write, overlap=False)
    assert trace.written == [1, 11, 21, 31]
    assert trace.events[:6] == ["read 0", "compute 0", "computed 0", "write 0", "wrote 0",
                                "read 1"]
    assert trace.most_in_flight == 1


async def test_nothing_to_do() -> None:
    trace = Trace()
    await overlapped([], trace.read, trace.compute, trace.write)
    assert trace.events == []


@pytest.mark.parametrize("stage", ["read", "compute", "write"])
async def test_the_first_error_is_raised_as_itself_and_stops_the_rest(stage: str) -> None:
    trace = Trace()
    real = getattr(trace, stage)

    async def failing(x: int) -> object:
        if len(trace.written) >= 2 or (stage != "write" and x >= 30):
            raise LoaderError(f"{stage} failed")
        return await real(x)

    setattr(trace, stage, failing)
    # Not an exception group: the post-load steps catch LoaderError.
    with pytest.raises(LoaderError, match=f"{stage} failed"):
        await overlapped(range(100), trace.read, trace.compute, trace.write)
    assert len(trace.written) < 6
    assert sum(e.startswith("read") for e in trace.events) < 8

"""Read, compute, write: three stages that overlap, one item apiece, first error as itself.

The post-load history and benchmark steps read a block of rows from the database, compute
its rows in Python, and write them back. Done one after the other, the database waits
while Python computes and Python waits while the database writes. With the computation in
a worker process (``transforms.enrichment.workers``), :func:`overlapped` lets item ``i``
be computed while item ``i - 1`` is written and item ``i + 1`` is read, so a step takes
about its longer half instead of both.

Only worth it with the computation outside this process: computed on the event loop's
thread, it would hold the interpreter's lock while the database thread (SQLite) needs it
back after every row it steps, which waits up to 5 ms each time. Callers pass
``overlap=False`` then, and the stages run one after the other.

Memory: at most three items are in flight (one read and waiting, one being computed, one
being written), whatever the number of items.

:func:`together` runs independent calls at once with the same rule for errors (the
post-load steps that write different tables, each on its own PostgreSQL connection).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

import anyio

Item = TypeVar("Item")
Data = TypeVar("Data")
Out = TypeVar("Out")


async def overlapped(items: Iterable[Item], read: Callable[[Item], Awaitable[Data]],
                     compute: Callable[[Data], Awaitable[Out]],
                     write: Callable[[Out], Awaitable[None]], *, overlap: bool = True) -> None:
    """``write(await compute(await read(item)))`` for each item in order, the stages overlapping.

    Writes happen in item order. The first exception a stage raises stops the others and
    is raised as itself (not in an exception group: callers catch ``LoaderError``).
    """
    if not overlap:
        for item in items:
            await write(await compute(await read(item)))
        return
    # Unbuffered: a stage hands an item over only when the next one takes it.
    to_compute_send, to_compute = anyio.create_memory_object_stream[Data](0)
    to_write_send, to_write = anyio.create_memory_object_stream[Out](0)

    async def reader() -> None:
        async with to_compute_send:
            for item in items:
                await to_compute_send.send(await read(item))

    async def computer() -> None:
        async with to_compute, to_write_send:
            async for data in to_compute:
                await to_write_send.send(await compute(data))

    async def writer() -> None:
        async with to_write:
            async for out in to_write:
                await write(out)

    await together([reader, computer, writer])


async def together(calls: Sequence[Callable[[], Awaitable[object]]]) -> None:
    """Each of ``calls`` at once; the first exception stops the others and is raised as itself.

    Not in an exception group, as a task group would raise it: callers catch their own
    error types (``LoaderError``) as they would from calls made one after the other.
    """
    errors: list[Exception] = []
    async with anyio.create_task_group() as tg:

        async def guarded(call: Callable[[], Awaitable[object]]) -> None:
            try:
                await call()
            except Exception as exc:  # noqa: BLE001 - raised below, after the others stop
                errors.append(exc)
                tg.cancel_scope.cancel()

        for call in calls:
            tg.start_soon(guarded, call)
    if errors:
        raise errors[0]

"""Enrichment in worker processes gives what it gives in the daemon's own process.

Real worker processes (``anyio.to_process``): a batch of the hand-labelled ads, repeated
past the worker threshold, must come back equal, value for value, to ``enrich_text`` run
here; a small batch never leaves the process; a worker that dies mid-batch costs no
creative (the batch is redone here) and the next batch gets a new worker; the same for a
post-load block (``compute``). Images, good and
hostile, give the features ``analyze_image`` gives here; an image that kills its worker is
tried in one more and then called corrupt, never decoded in the daemon's process.
"""

from __future__ import annotations

import io
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest
from PIL import Image

from tests.transforms.enrichment.labelled_ads import LABELLED_ADS
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox.images import bomb_png, corrupt_bytes, render_image
from within_daemon.transforms.enrichment import TEXT_ENRICHERS
from within_daemon.transforms.enrichment import workers as w

NAMES = sorted(TEXT_ENRICHERS)
PARENT = "WITHIN_TEST_PARENT_PID"
def work(metrics: Metrics, kind: str, outcome: str) -> float:
    got = metrics.registry.get_sample_value("within_enrich_work_total",
                                            {"kind": kind, "outcome": outcome})
    return got or 0.0


#: The real functions, whatever a test patches in the module.
REAL = w.enrich_all
REAL_IMAGE = w.analyze_bytes
MAX_PIXELS = 40_000_000


def _records(n: int) -> list[dict[str, Any]]:
    ads = [a.record() for a in LABELLED_ADS]
    out = [{**ads[i % len(ads)], "ad_id": f"ad{i}"} for i in range(n)]
    out[3] = {**out[3], "headline": None, "description": ""}  # missing text
    out[5] = {**out[5], "headline": "Ünïcode 🚀 50% off — today only!"}
    return out


async def test_a_worker_gives_the_same_values() -> None:
    records = _records(w.MIN_WORKER_BATCH * 2)
    metrics = Metrics()
    workers = w.EnrichWorkers(1, metrics=metrics)
    got = await workers.enrich(records, NAMES)
    assert workers.in_workers == 1 and workers.fell_back == 0
    assert work(metrics, "text", "worker") == 1 and work(metrics, "text", "here") == 0
    assert got == w.enrich_all(records, NAMES)
    assert len(got) == len(records) and all(got)


async def test_a_small_batch_stays_in_the_process() -> None:
    records = _records(w.MIN_WORKER_BATCH - 1)
    workers = w.EnrichWorkers(1)
    assert await workers.enrich(records, NAMES) == w.enrich_all(records, NAMES)
    assert workers.in_workers == 0
    none = w.EnrichWorkers(0)
    assert await none.enrich(_records(200), NAMES) == w.enrich_all(_records(200), NAMES)
    assert none.in_workers == 0


def _dies_in_a_worker(records: Sequence[Mapping[str, Any]],
                      names: Sequence[str]) -> list[dict[str, Any]]:
    """``enrich_all``, except that a worker process running it exits at once."""
    if os.getpid() != int(os.environ[PARENT]):
        os._exit(3)
    return REAL(records, names)


async def test_a_dead_worker_costs_no_creative(monkeypatch: pytest.MonkeyPatch) -> None:
    records = _records(w.MIN_WORKER_BATCH)
    want = w.enrich_all(records, NAMES)
    monkeypatch.setenv(PARENT, str(os.getpid()))  # a worker inherits the environment
    monkeypatch.setattr(w, "enrich_all", _dies_in_a_worker)
    workers = w.EnrichWorkers(1)
    assert await workers.enrich(records, NAMES) == want  # done here, with a warning
    assert workers.fell_back == 1 and workers.in_workers == 0
    monkeypatch.setattr(w, "enrich_all", REAL)
    assert await workers.enrich(records, NAMES) == want  # a new worker
    assert workers.in_workers == 1


def _doubled_here(value: int) -> int:
    """``2 * value``, except that a worker process running it exits at once."""
    if os.getpid() != int(os.environ[PARENT]):
        os._exit(3)
    return 2 * value


async def test_a_post_load_block_survives_its_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    # History and benchmarks (EnrichWorkers.compute): a worker that dies under a block
    # costs nothing; the block is computed here and counted.
    monkeypatch.setenv(PARENT, str(os.getpid()))
    metrics = Metrics()
    workers = w.EnrichWorkers(1, metrics=metrics)
    assert await workers.compute(_doubled_here, 21) == 42
    assert workers.computed == 0 and work(metrics, "post_load", "worker_died") == 1
    assert await workers.compute(sorted, [3, 1, 2]) == [1, 2, 3]  # in a new worker
    assert workers.computed == 1 and work(metrics, "post_load", "worker") == 1
    none = w.EnrichWorkers(0, metrics=metrics)
    assert await none.compute(_doubled_here, 5) == 10  # no workers: here, not started
    assert none.computed == 0 and work(metrics, "post_load", "here") == 1


def _images() -> list[bytes]:
    rgba = Image.new("RGBA", (300, 200), (255, 0, 0, 128))
    rgba.paste((0, 0, 255, 255), (0, 0, 150, 100))
    out = [render_image(f"w{i}", fmt) for i, fmt in enumerate(("JPEG", "PNG", "GIF", "WEBP"))]
    out.append(render_image("big_1600x900", "JPEG"))
    buf = io.BytesIO()
    rgba.save(buf, "PNG")
    return [*out, buf.getvalue(), corrupt_bytes(), bomb_png(100_000, 100_000), b""]


async def test_images_in_a_worker_give_the_same_features() -> None:
    metrics = Metrics()
    workers = w.EnrichWorkers(1, metrics=metrics)
    datas = _images()
    got = [await workers.analyze_image(d, MAX_PIXELS) for d in datas]
    assert work(metrics, "image", "worker") == len(datas)
    assert got == [w.analyze_bytes(d, MAX_PIXELS) for d in datas]
    statuses = [f.image_status for f in got]
    assert statuses[:6] == ["ok"] * 6 and "ok" not in statuses[6:]
    assert workers.images == len(datas) and workers.image_worker_deaths == 0


async def test_no_workers_decodes_in_a_thread() -> None:
    workers = w.EnrichWorkers(0)
    data = render_image("x", "PNG")
    assert await workers.analyze_image(data, MAX_PIXELS) == w.analyze_bytes(data, MAX_PIXELS)
    assert workers.images == 0 and not await workers.usable()


async def test_workers_that_cannot_start_are_said_once_and_the_work_done_here(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A main script without a __main__ guard that runs the daemon: each new worker runs it
    # again, where it must stop at once instead of starting workers of its own.
    unguarded = tmp_path / "unguarded_main.py"
    unguarded.write_text("from within_daemon.transforms.enrichment.workers import EnrichWorkers\n"
                         "EnrichWorkers(1)\n"
                         "raise AssertionError('went on in the worker')\n")
    monkeypatch.setattr(sys.modules["__main__"], "__file__", str(unguarded))
    metrics = Metrics()
    workers = w.EnrichWorkers(1, metrics=metrics)
    records, datas = _records(w.MIN_WORKER_BATCH), _images()[:3]
    assert await workers.enrich(records, NAMES) == w.enrich_all(records, NAMES)
    got = [await workers.analyze_image(d, MAX_PIXELS) for d in datas]
    assert got == [w.analyze_bytes(d, MAX_PIXELS) for d in datas]
    assert not await workers.usable()
    assert workers.in_workers == workers.images == workers.image_worker_deaths == 0
    assert (work(metrics, "text", "here"), work(metrics, "image", "here")) == (1, 3)
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "cannot start" in errors[0]
    assert 'if __name__ == "__main__":' in errors[0] and "went on" not in errors[0]


def test_no_workers_are_made_while_a_worker_runs_its_parents_script(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "__mp_main__", type(sys)("__mp_main__"))
    with pytest.raises(RuntimeError, match="guard the script"):
        w.EnrichWorkers(1)
    assert w.EnrichWorkers(0).workers == 0
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__mp_main__"])  # bootstrapped
    assert w.EnrichWorkers(1).workers == 1


def _kills_its_worker(data: bytes, max_pixels: int) -> object:
    """``analyze_bytes``, except that bytes starting ``KILL`` end the worker process."""
    if data.startswith(b"KILL"):
        if os.getpid() == int(os.environ[PARENT]):
            raise AssertionError("decoded in the daemon's own process")
        os._exit(3)
    return REAL_IMAGE(data, max_pixels)


async def test_an_image_that_kills_workers_is_corrupt(monkeypatch: pytest.MonkeyPatch
                                                      ) -> None:
    monkeypatch.setenv(PARENT, str(os.getpid()))  # a worker inherits the environment
    monkeypatch.setattr(w, "analyze_bytes", _kills_its_worker)
    metrics = Metrics()
    workers = w.EnrichWorkers(1, metrics=metrics)
    good = render_image("after", "JPEG")
    bad = await workers.analyze_image(b"KILL" + good, MAX_PIXELS)
    assert bad.image_status == "corrupt" and "worker processes died" in (bad.image_error or "")
    assert workers.image_worker_deaths == w.IMAGE_ATTEMPTS
    assert work(metrics, "image", "worker_died") == w.IMAGE_ATTEMPTS
    after = await workers.analyze_image(good, MAX_PIXELS)  # a new worker
    assert after == REAL_IMAGE(good, MAX_PIXELS) and after.ok


def _hangs_its_worker(data: bytes, max_pixels: int) -> object:
    """``analyze_bytes``, except that bytes starting ``HANG`` never finish decoding."""
    if data.startswith(b"HANG"):
        time.sleep(3600)
    return REAL_IMAGE(data, max_pixels)


def _worker_pids() -> set[int]:
    """Children of this process that are anyio worker processes."""
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmd = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and b"anyio.to_process" in cmd:
            out.add(int(stat.parent.name))
    return out


async def test_an_image_that_hangs_the_decoder_stops_its_worker(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(w, "analyze_bytes", _hangs_its_worker)
    metrics = Metrics()
    workers = w.EnrichWorkers(1, metrics=metrics)
    workers.decode_seconds = 1.0
    good = render_image("fine", "PNG")
    assert (await workers.analyze_image(good, MAX_PIXELS)).ok
    before = _worker_pids()
    assert len(before) == 1
    with anyio.move_on_after(0.1):  # a caller's time box neither stops the decode early...
        hung = await workers.analyze_image(b"HANG" + good, MAX_PIXELS)
    assert hung.image_status == "corrupt" and "more than 1 s" in (hung.image_error or "")
    assert work(metrics, "image", "worker_stopped") == 1
    assert not before & _worker_pids()  # ...nor leaves the stopped worker behind
    assert await workers.analyze_image(good, MAX_PIXELS) == REAL_IMAGE(good, MAX_PIXELS)


# -- images that wait together share a worker call --------------------------------------------


async def _all_at_once(workers: w.EnrichWorkers, datas: Sequence[bytes]) -> list[object]:
    out: list[object] = [None] * len(datas)

    async def one(i: int) -> None:
        out[i] = await workers.analyze_image(datas[i], MAX_PIXELS)

    async with anyio.create_task_group() as tg:
        for i in range(len(datas)):
            tg.start_soon(one, i)
    return out


async def test_images_waiting_together_share_a_call_and_keep_their_values() -> None:
    metrics = Metrics()
    workers = w.EnrichWorkers(1, metrics=metrics)
    datas = [render_image(f"many{i}", ("JPEG", "PNG")[i % 2]) for i in range(40)] + _images()
    got = await _all_at_once(workers, datas)
    assert got == [w.analyze_bytes(d, MAX_PIXELS) for d in datas]
    assert workers.images == len(datas) == work(metrics, "image", "worker")
    # 49 images, at most 16 a call: 4 calls at the least; far fewer than one each.
    assert 4 <= workers.image_calls <= len(datas) // 4


async def test_a_call_is_bounded_by_images_and_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    workers = w.EnrichWorkers(1)
    monkeypatch.setattr(w, "IMAGE_BATCH", 3)
    small = [render_image(f"s{i}", "PNG") for i in range(9)]
    assert await _all_at_once(workers, small) == [w.analyze_bytes(d, MAX_PIXELS) for d in small]
    assert workers.image_calls >= 3  # never more than 3 images a call
    monkeypatch.setattr(w, "IMAGE_BATCH", 100)
    monkeypatch.setattr(w, "IMAGE_BATCH_BYTES", min(map(len, small)))
    before = workers.image_calls
    assert await _all_at_once(workers, small) == [w.analyze_bytes(d, MAX_PIXELS) for d in small]
    assert workers.image_calls - before == len(small)  # the bytes allow one image a call


async def test_a_killer_among_others_costs_only_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PARENT, str(os.getpid()))
    monkeypatch.setattr(w, "analyze_bytes", _kills_its_worker)
    metrics = Metrics()
    workers = w.EnrichWorkers(1, metrics=metrics)
    good = [render_image(f"g{i}", "JPEG") for i in range(12)]
    datas = [*good[:6], b"KILL" + good[0], *good[6:]]
    got = await _all_at_once(workers, datas)
    bad = got.pop(6)
    assert got == [REAL_IMAGE(d, MAX_PIXELS) for d in good]
    assert isinstance(bad, w.ImageFeatures) and bad.image_status == "corrupt"
    # The shared call's worker, then the killer's own two tries.
    assert workers.image_worker_deaths == work(metrics, "image", "worker_died") >= 1 + 2
    assert workers.images == len(good)


async def test_a_hang_among_others_costs_only_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(w, "analyze_bytes", _hangs_its_worker)
    metrics = Metrics()
    workers = w.EnrichWorkers(1, metrics=metrics)
    workers.decode_seconds = 1.0
    good = [render_image(f"h{i}", "PNG") for i in range(6)]
    assert (await workers.analyze_image(good[0], MAX_PIXELS)).ok  # the worker is up
    got = await _all_at_once(workers, [*good[:3], b"HANG" + good[0], *good[3:]])
    hung = got.pop(3)
    assert got == [REAL_IMAGE(d, MAX_PIXELS) for d in good]
    assert isinstance(hung, w.ImageFeatures) and hung.image_status == "corrupt"
    assert work(metrics, "image", "worker_stopped") >= 2  # the shared call, then its own
    assert len(_worker_pids()) <= 1  # every stopped worker is gone

"""The text enrichers give exactly the outputs frozen in ``data/text_golden.json``.

The file was written by ``tests/transforms/enrichment/text_golden.py`` with the enrichers as
they were before their speed-up (``main`` at 7c767f2, 2026-12-05: its ``within_daemon`` from
``git archive`` first on ``sys.path``, the editable install's finder removed), over the
labelled ads and 400 generated odd records; every value must compare equal (floats bit for
bit: JSON keeps their repr).
"""

from __future__ import annotations

import json

import pytest

from tests.transforms.enrichment.text_golden import GOLDEN, from_jsonable, golden_inputs, outputs

CASES = json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_golden_inputs_are_the_generated_ones() -> None:
    # The generator is the file's provenance: it must still produce the frozen inputs.
    assert [from_jsonable(c["record"]) for c in CASES] == golden_inputs()


@pytest.mark.parametrize("case", CASES, ids=lambda c: str(CASES.index(c)))
def test_outputs_match_the_frozen_ones(case: dict) -> None:
    got = outputs(from_jsonable(case["record"]))
    assert got == case["outputs"]
    # Same key order and same float reprs (-0.0 is not 0.0 here).
    assert json.dumps(got, ensure_ascii=False) == json.dumps(case["outputs"], ensure_ascii=False)


def test_outputs_repeat_identically() -> None:
    # A memoizing enricher must answer a repeated creative exactly as the first time.
    for case in CASES[:40]:
        record = from_jsonable(case["record"])
        assert outputs(record) == outputs(record) == case["outputs"]

"""``Answer.decode``: typed answers, and each way a body can fail mapped to our errors."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from within_daemon.errors import AnswerShapeError, PermanentSourceError, TransientError
from within_daemon.redaction import register_secret
from within_daemon.sources.http.answers import Answer

KW: dict[str, Any] = {"platform": "facebook", "account_id": "1", "endpoint": "insights"}


class Cursors(msgspec.Struct, frozen=True):
    after: str | None = None


class Paging(msgspec.Struct, frozen=True):
    cursors: Cursors | None = None


class Page(msgspec.Struct, frozen=True):
    data: list[dict[str, Any]]
    paging: Paging | None = None


PAGE = Answer(Page)


def test_a_typed_answer_keeps_its_rows_as_dicts_and_ignores_new_fields() -> None:
    """Rows come back as the dicts they were; unknown keys at any level are ignored."""
    page = PAGE.decode(b'{"data": [{"a": "1", "b": [1, {"c": null}]}], "new": 1,'
                       b' "paging": {"cursors": {"after": "x", "shiny": true}}}', **KW)
    assert page.data == [{"a": "1", "b": [1, {"c": None}]}]
    assert page.paging is not None and page.paging.cursors == Cursors(after="x")


def test_a_wrong_type_names_platform_endpoint_and_path() -> None:
    """The path msgspec reports is kept: the message names where the type is wrong."""
    with pytest.raises(AnswerShapeError) as info:
        PAGE.decode(b'{"data": [], "paging": {"cursors": {"after": 5}}}', **KW, status=200)
    err = info.value
    assert str(err) == ("facebook insights: answer of an unexpected shape (expected: Page): "
                        "Expected `str | null`, got `int` - at `$.paging.cursors.after`")
    assert (err.platform, err.endpoint, err.path, err.status) == (
        "facebook", "insights", "$.paging.cursors.after", 200)
    assert err.error_class == "answer_shape" and not err.retriable
    assert isinstance(err, PermanentSourceError)


def test_a_missing_field_and_a_payload_decoded_on_its_own() -> None:
    """A missing top-level key is at ``$``; a payload decoded apart keeps the answer's path."""
    with pytest.raises(AnswerShapeError, match="missing required field `data`") as info:
        PAGE.decode(b'{"paging": {}}', **KW)
    assert info.value.path == "$"
    with pytest.raises(AnswerShapeError) as info:
        PAGE.decode(b'{"data": {}}', **KW, at="$.data")
    assert info.value.path == "$.data.data" and str(info.value).endswith("`$.data.data`")


def test_a_secret_in_the_body_never_reaches_the_message() -> None:
    """A secret in the body stays out: msgspec names types, not values; errors are redacted."""
    register_secret("s3cr3t-token-value", slot="test-answers")
    with pytest.raises(AnswerShapeError) as info:
        PAGE.decode(b'{"data": "s3cr3t-token-value"}', **KW)
    assert "s3cr3t" not in str(info.value) and "s3cr3t" not in repr(info.value.args)


def test_malformed_truncated_deep_and_lone_surrogates() -> None:
    """Cut JSON is transient, too deep is permanent, a lone surrogate decodes (its row fails)."""
    with pytest.raises(TransientError, match="facebook insights: malformed or truncated"):
        PAGE.decode(b'{"data": [', **KW)
    with pytest.raises(TransientError, match="malformed"):
        PAGE.decode(b"<html>502 Bad Gateway</html>", **KW)
    deep = b'{"data": [{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]}"
    with pytest.raises(PermanentSourceError, match="nested deeper than the decoder"):
        PAGE.decode(deep, **KW)
    page = PAGE.decode(b'{"data": [{"t": "Sale \\ud83d"}, {"t": "ok \\ud83d\\ude00"}]}', **KW)
    assert page.data == [{"t": "Sale \ud83d"}, {"t": "ok 😀"}]
    with pytest.raises(AnswerShapeError, match=r"`\$\.data`"):
        PAGE.decode(b'{"data": 5, "x": "\\ud83d"}', **KW)  # the fallback checks the shape
    with pytest.raises(AnswerShapeError, match=r"`\$(\.data)?`"):
        PAGE.decode(b'{"data": "x \\ud83d"}', **KW)  # msgspec cannot even name the type

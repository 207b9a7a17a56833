"""The transform actor: normalize each raw page, validate it, split off the rejects.

Raw rows (dicts, as the platform sent them) become ``records.AdDay`` / ``AccountDay``
Structs (``DataNormalizer.ad_records`` / ``account_records``); the good ones travel on in a
``RecordBatch``, a rejected one goes to the quarantine as its raw row (or, where there is
none, the record's dict form). Normalization and validation are pure functions from
``within_daemon.transforms``. They
run inline on the event loop: a 500-row page costs a few milliseconds, and a thread hop
would buy nothing under the GIL while adding latency to every page.

Internal pages (the company's own query and files) take the same path: their normalizer
finds the field map in ``AccountInfo.details``, they validate against the internal schema
(a superset of the ad schema), their rows are keyed by account too (one query can hold
several accounts), and a rejected row is quarantined with its ``RowRef`` (row number or
file line) in the raw record and its errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from typing import Any

from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..observability.logging import redact
from ..observability.metrics import Metrics
from ..records import Record, as_dict
from ..runtime import Actor
from ..schema import ACCOUNT_DATA_SCHEMA, AD_DATA_SCHEMA
from ..transforms import DataNormalizer, DataValidator
from ..transforms.normalize.internal import INTERNAL_AD_SCHEMA
from ..transforms.normalize.internal import PLATFORM as INTERNAL
from .messages import LoaderMsg, RawPage, RecordBatch, RowRef, SourceDone, SourceMsg

#: (kind, platform) -> the schema that replaces the kind's for that platform.
PLATFORM_SCHEMAS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("ad", INTERNAL): INTERNAL_AD_SCHEMA}
#: Record fields copied next to a referenced row in its quarantine record.
_KEYS = ("platform", "account_id", "ad_id", "date")


def _scrubbed(value: Any) -> Any:
    # A dropped file is written by people: a pasted token must not reach the quarantine.
    if isinstance(value, dict):
        return {k: redact(v) if isinstance(v, str) else v for k, v in value.items()}
    return redact(value) if isinstance(value, str) else value


def _referenced(rec: Record, row: Any, ref: RowRef, errors: list[dict[str, Any]],
                scrub: bool) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A rejected row with where it came from: in the raw record and in each error."""
    keep = _scrubbed if scrub else (lambda v: v)
    raw = {**ref.where, "row": keep(row),
           **{k: keep(getattr(rec, k, None)) for k in _KEYS}}
    errs = [{**{k: v for k, v in e.items() if k != "index"}, **ref.error_keys,
             "message": keep(f"{ref.label}: {e.get('message')}")} for e in errors]
    if scrub:
        errs = [{**e, "value": keep(e.get("value"))} for e in errs]
    return raw, errs


def _dup_error(key: str) -> list[dict[str, Any]]:
    return [{"field": "(key)", "message": f"duplicate key within one page: {key}",
             "index": None, "key": key, "value": None}]


class TransformActor(Actor[SourceMsg, LoaderMsg]):
    name = "transform"

    def __init__(
        self,
        inbox: MemoryObjectReceiveStream[SourceMsg],
        outbox: MemoryObjectSendStream[LoaderMsg],
        *,
        normalizers: dict[str, DataNormalizer],
        validate: bool = True,
        schemas: dict[str, dict[str, dict[str, Any]]] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(inbox, outbox, metrics=metrics)
        self.normalizers = normalizers
        self.validator = DataValidator()
        self.validate = validate
        self.schemas = schemas or {"ad": AD_DATA_SCHEMA, "account": ACCOUNT_DATA_SCHEMA}
        self.platform_schemas = PLATFORM_SCHEMAS
        for schema in [*self.schemas.values(), *self.platform_schemas.values()]:
            self.validator.validate([], schema)  # a bad rule fails here, at start-up
        #: run id -> the ads mapping its pages carry, so the normalizer's per-ad cache of
        #: it is dropped when the run ends (a long-lived daemon must not keep old ads).
        self._run_ads: dict[str, Any] = {}

    async def handle(self, msg: SourceMsg) -> None:
        if isinstance(msg, RawPage):
            if msg.ads is not None:
                self._run_ads[msg.ref.run_id] = msg.ads
            await self.emit(self.transform(msg))
        else:
            if isinstance(msg, SourceDone):
                ads = self._run_ads.pop(msg.ref.run_id, None)
                norm = self.normalizers.get(msg.ref.platform)
                if ads is not None and norm is not None:
                    norm.forget_ads(ads)
            await self.emit(msg)

    def transform(self, page: RawPage) -> RecordBatch:
        ref = page.ref
        norm = self.normalizers.get(ref.platform) or DataNormalizer()
        records: Sequence[Record]
        if ref.kind == "ad":
            records = norm.ad_records(
                page.rows, ref.platform, ads=page.ads, account=page.account
            )
            schema = self.platform_schemas.get(("ad", ref.platform)) or self.schemas["ad"]
            key_fields: tuple[str, ...] = ("ad_id", "date")
            if ref.platform == INTERNAL:
                key_fields = ("account_id", "ad_id", "date")
        else:
            records = norm.account_records(
                page.rows, ref.platform, account=page.account, counts=page.counts
            )
            schema = self.schemas["account"]
            key_fields = ("date",)
        bad: list[tuple[dict[str, Any], list[dict[str, Any]]]] = list(page.refused or ())
        if self.validate:
            good, rejected = self.validator.split(records, schema)
            for rec, errors in rejected:
                idx = errors[0].get("index") if errors else None
                if not isinstance(idx, int) or idx >= len(page.rows):
                    bad.append((as_dict(rec), errors))
                elif page.row_refs is not None:
                    bad.append(_referenced(rec, page.rows[idx], page.row_refs[idx], errors,
                                           page.scrub))
                else:
                    bad.append((page.rows[idx], errors))
        else:
            good = list(records)
        # A key seen twice in one page would collapse silently in the upsert: refuse it.
        seen: set[Any] = set()
        unique: list[Record] = []
        key_of = attrgetter(*key_fields)
        for rec in good:
            k = key_of(rec)
            if k in seen:
                parts = k if len(key_fields) > 1 else (k,)
                named = " ".join(f"{f}={v}" for f, v in zip(key_fields, parts, strict=True))
                bad.append((as_dict(rec), _dup_error(named)))
            else:
                seen.add(k)
                unique.append(rec)
        fetched = len(page.rows) + len(page.refused or ())
        if self.metrics is not None:
            self.metrics.records.labels(ref.platform, ref.pipeline, "extracted").inc(fetched)
        window = page.account.attribution_window if page.account is not None else None
        return RecordBatch(
            ref=ref, records=unique, quarantined=bad, fetched_at=page.fetched_at,
            fetched=fetched,
            context={"attribution_window": str(window)} if window else None,
            local_day=page.local_day,
        )

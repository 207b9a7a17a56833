"""The transform actor: normalize each raw page, validate it, split off the rejects.

Normalization and validation are pure functions from ``within_daemon.transforms``. They
run inline on the event loop: a 500-row page costs a few milliseconds, and a thread hop
would buy nothing under the GIL while adding latency to every page.
"""

from __future__ import annotations

from typing import Any

from ..observability.metrics import Metrics
from ..runtime import Actor
from ..schema import ACCOUNT_DATA_SCHEMA, AD_DATA_SCHEMA
from ..transforms import DataNormalizer, DataValidator
from .messages import LoaderMsg, RawPage, RecordBatch, SourceDone, SourceMsg


def _dup_error(key: str) -> list[dict[str, Any]]:
    return [{"field": "(key)", "message": f"duplicate key within one page: {key}",
             "index": None, "key": key, "value": None}]


class TransformActor(Actor[SourceMsg, LoaderMsg]):
    name = "transform"

    def __init__(
        self,
        inbox: Any,
        outbox: Any,
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
        for schema in self.schemas.values():
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
        if ref.kind == "ad":
            records = norm.normalize_ad_data(
                page.rows, ref.platform, ads=page.ads, account=page.account
            )
            schema = self.schemas["ad"]
            key_fields: tuple[str, ...] = ("ad_id", "date")
        else:
            records = norm.normalize_account_data(
                page.rows, ref.platform, account=page.account, counts=page.counts
            )
            schema = self.schemas["account"]
            key_fields = ("date",)
        bad: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        if self.validate:
            good, rejected = self.validator.split(records, schema)
            for rec, errors in rejected:
                idx = errors[0].get("index") if errors else None
                raw = page.rows[idx] if isinstance(idx, int) and idx < len(page.rows) else rec
                bad.append((raw, errors))
        else:
            good = records
        # A key seen twice in one page would collapse silently in the upsert: refuse it.
        seen: set[tuple[Any, ...]] = set()
        unique: list[dict[str, Any]] = []
        for rec in good:
            k = tuple(map(rec.get, key_fields))
            if k in seen:
                bad.append((rec, _dup_error(" ".join(f"{f}={v}" for f, v in zip(key_fields, k,
                                                                                  strict=True)))))
            else:
                seen.add(k)
                unique.append(rec)
        if self.metrics is not None:
            self.metrics.records.labels(ref.platform, ref.pipeline, "extracted").inc(len(page.rows))
        window = page.account.attribution_window if page.account is not None else None
        return RecordBatch(
            ref=ref, records=unique, quarantined=bad, fetched_at=page.fetched_at,
            fetched=len(page.rows),
            context={"attribution_window": str(window)} if window else None,
            local_day=page.local_day,
        )

"""Reporting-currency conversion for the cross-platform dataset.

Each platform reports money in its account's currency (USD, EUR, CAD, ...). The unified
dataset keeps that original amount and currency and adds the amount in one reporting
currency, with the rate used, so a reader can always tell what was converted and how. A
currency without a configured rate is an error naming it: a silently unconverted row
would make the unified totals wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

MONEY_FIELDS = ("spend", "revenue", "cpa")


class FxTable:
    """Rates as units of the reporting currency per one unit of each other currency."""

    def __init__(self, reporting_currency: str, rates: Mapping[str, float]) -> None:
        self.reporting_currency = reporting_currency.upper()
        self.rates = {k.upper(): float(v) for k, v in rates.items()}
        self.rates[self.reporting_currency] = 1.0
        bad = [k for k, v in self.rates.items() if not v > 0]
        if bad:
            raise ValueError(f"FX rates must be > 0: {bad}")

    def rate(self, currency: str | None) -> float:
        if not currency:
            raise ValueError("a record has no currency: it cannot be converted")
        try:
            return self.rates[currency.upper()]
        except KeyError:
            raise ValueError(
                f"no FX rate for {currency} -> {self.reporting_currency}: add it to "
                "[reporting] fx_rates") from None

    def convert(self, records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Copies with ``<field>_reporting``, ``reporting_currency`` and ``fx_rate`` added."""
        out: list[dict[str, Any]] = []
        for rec in records:
            rate = self.rate(rec.get("currency"))
            row = dict(rec)
            for f in MONEY_FIELDS:
                v = rec.get(f)
                row[f"{f}_reporting"] = round(v * rate, 6) if isinstance(v, int | float) else None
            row["reporting_currency"] = self.reporting_currency
            row["fx_rate"] = rate
            out.append(row)
        return out

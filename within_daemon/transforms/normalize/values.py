"""Value parsing every platform's normalizer shares, and the shapes they have in common.

A parser returns the typed value on success and the raw value on failure: the normalizer
never rejects anything itself, so the validator refuses the record with a message naming the
field and the pipeline quarantines it (one bad row never aborts a batch). Hence parsers
return ``Any``: their result goes into a field of a ``records.AdDay`` / ``AccountDay``,
whose annotation holds once the record has passed validation (see ``within_daemon.records``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from within_daemon.records import AccountDay, AdDay
from within_daemon.transforms.normalize.facebook_actions import ActionPlan

#: ``fn(settings, data, *, ads, account)`` -> ``AdDay`` records.
AdNormalizeFn = Callable[..., list[AdDay]]
#: ``fn(settings, data, *, account, counts)`` -> ``AccountDay`` records.
AccountNormalizeFn = Callable[..., list[AccountDay]]


class NormalizerSettings(Protocol):
    """What a platform's normalizer reads from the ``DataNormalizer`` that calls it."""

    conversion_plan: ActionPlan
    revenue_plan: ActionPlan

    def ad_infos(self, ads: Mapping[str, Any] | None) -> dict[str, Any]: ...


def derived_ratios(
    imp: Any, clk: Any, spend: Any, conv: Any, rev: Any
) -> tuple[float | None, float | None, float | None, float | None]:
    """``(ctr, conversion_rate, cpa, roas)`` from typed counts and money, every platform.

    A ratio is None when its denominator is zero or either side did not parse (an unparsed
    value is a raw string the validator will reject), so a ratio is never made up.
    """
    clk_ok = clk.__class__ is int
    # Conversions are real numbers (attribution splits them; see as_conversions).
    conv_ok = conv.__class__ is int or conv.__class__ is float
    spend_ok = spend.__class__ is float
    return (
        clk / imp if clk_ok and imp.__class__ is int and imp != 0 else None,
        conv / clk if conv_ok and clk_ok and clk != 0 else None,
        spend / conv if spend_ok and conv_ok and conv != 0 else None,
        rev / spend if spend_ok and spend != 0 and rev.__class__ is float else None,
    )


def as_int(v: Any) -> Any:
    """Count as ``int``; unparsable input is returned unchanged for the validator to name."""
    cls = v.__class__
    if cls is str:
        try:
            return int(v)
        except ValueError:
            try:
                f = float(v)
            except ValueError:
                return v
            return int(f) if f.is_integer() else v
    if cls is float and v.is_integer():
        return int(v)
    return v


def as_conversions(v: Any) -> Any:
    """Conversions: ``int`` when whole, a finite ``float`` when fractional, else raw.

    Attribution models (Google's data-driven attribution) credit fractions of a conversion
    to each ad, and the account total is the sum of those fractions; rounding per ad-day
    would break sums, CPA and the drift check, so a fraction is kept as it came.
    """
    whole = as_int(v)
    if whole.__class__ is int:
        return whole
    f = as_float(v)
    return f if f.__class__ is float and f - f == 0.0 else v


def as_float(v: Any) -> Any:
    """Money or ratio as a finite ``float``; anything else is returned unchanged."""
    cls = v.__class__
    if cls is str:
        try:
            f = float(v)
        except ValueError:
            return v
        # nan and inf parse but are not amounts; x - x is 0.0 only for finite x
        return f if f - f == 0.0 else v
    if cls is int:
        return float(v)
    return v

"""Which function normalizes which platform's rows: one explicit table per record kind.

Adding a platform is one module under ``normalize/`` and one line in each table here;
nothing registers itself when imported. Internal data (a drop folder or a SQL query) has
ad-day rows only.
"""

from __future__ import annotations

from within_daemon.transforms.normalize.amazon import amazon_accounts, amazon_ads
from within_daemon.transforms.normalize.facebook import facebook_accounts, facebook_ads
from within_daemon.transforms.normalize.google import google_accounts, google_ads
from within_daemon.transforms.normalize.internal import PLATFORM as INTERNAL
from within_daemon.transforms.normalize.internal import internal_ads
from within_daemon.transforms.normalize.tiktok import tiktok_accounts, tiktok_ads
from within_daemon.transforms.normalize.values import AccountNormalizeFn, AdNormalizeFn

#: platform -> ``fn(normalizer, data, *, ads, account)`` -> ``AdDay`` records
AD_NORMALIZERS: dict[str, AdNormalizeFn] = {
    "facebook": facebook_ads,
    "google": google_ads,
    "amazon": amazon_ads,
    "tiktok": tiktok_ads,
    INTERNAL: internal_ads,
}

#: platform -> ``fn(normalizer, data, *, account, counts)`` -> ``AccountDay`` records
ACCOUNT_NORMALIZERS: dict[str, AccountNormalizeFn] = {
    "facebook": facebook_accounts,
    "google": google_accounts,
    "amazon": amazon_accounts,
    "tiktok": tiktok_accounts,
}

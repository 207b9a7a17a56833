"""What the training datasets are: their names, key columns, feature catalogue and labels.

The declarative half of the training datasets (:mod:`.pipeline` builds them): the dataset
names the CLI and the scheduled task accept, which summed ``ad_data`` columns the builds
use, the label options (:class:`LabelConfig`) and the documented feature lists that end up
in every manifest and in the content hash. Kept apart from the builders so that a reader (or
a model consuming a dataset) can see what a dataset holds without reading how it is built,
and so that a change to a definition, which changes every dataset version, stands out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from within_daemon.loaders.schema.analytics import HISTORY_COLUMNS

AdMetric = Literal["ctr", "cvr", "roas"]
HealthLabel = Literal["next_roas", "spend_pacing"]

AD_SCORE = "ad_score"
ACCOUNT_HEALTH = "account_health"
DATASETS: tuple[str, ...] = (AD_SCORE, ACCOUNT_HEALTH)

#: Summed ad_data columns, in this order everywhere below.
SUMS = ("impressions", "clicks", "spend", "conversions", "revenue")
IMP, CLK, SPEND, CONV, REV = range(5)
#: Future-window metric of the ad score: (numerator, denominator) indexes into SUMS.
METRICS: dict[str, tuple[int, int, str]] = {
    "ctr": (CLK, IMP, "clicks / impressions"),
    "cvr": (CONV, CLK, "conversions / clicks"),
    "roas": (REV, SPEND, "revenue / spend"),
}


@dataclass(frozen=True)
class LabelConfig:
    """Which labels the datasets carry.

    ``ad_score_metric``: the ad's future-window metric compared with its account's median.
    ``account_health_labels``: the labels of the account-health rows (a row is kept only
    when all of them are defined).
    """

    ad_score_metric: AdMetric = "ctr"
    account_health_labels: tuple[HealthLabel, ...] = ("next_roas", "spend_pacing")

    def __post_init__(self) -> None:
        if self.ad_score_metric not in METRICS:
            raise ValueError(f"unknown ad score metric {self.ad_score_metric!r}")
        bad = set(self.account_health_labels) - {"next_roas", "spend_pacing"}
        if bad or not self.account_health_labels:
            raise ValueError(f"bad account health labels {self.account_health_labels!r}")


# -- feature catalogue -----------------------------------------------------------------------

_HISTORY_DEFS = {
    "ctr": "clicks / impressions", "cvr": "conversions / clicks",
    "cpa": "spend / conversions", "roas": "revenue / spend", "days": "number of data days",
}
#: Creative enrichments used as features: name -> (logical type, definition).
CREATIVE_FEATURES: dict[str, tuple[str, str]] = {
    "topic": ("string", "topic of the text of the creative in effect on the row's date"),
    "topic_confidence": ("float64", "confidence of the topic assignment"),
    "sentiment_compound": ("float64", "VADER compound sentiment of headline + description"),
    "sentiment_positive": ("float64", "VADER positive share of the creative text"),
    "sentiment_negative": ("float64", "VADER negative share of the creative text"),
    "headline_sentiment": ("float64", "VADER compound sentiment of the headline"),
    "description_sentiment": ("float64", "VADER compound sentiment of the description"),
    "discount_percent_max": ("float64", "largest percentage discount named in the text"),
    "has_free_shipping": ("int64", "1 if the text offers free shipping"),
    "has_bogo": ("int64", "1 if the text offers buy-one-get-one"),
    "has_trial": ("int64", "1 if the text offers a free trial"),
    "has_urgency": ("int64", "1 if the text uses urgency terms"),
    "image_aspect_ratio": ("float64", "image width / height"),
    "image_brightness": ("float64", "mean image brightness"),
    "image_contrast": ("float64", "image contrast"),
    "image_colourfulness": ("float64", "image colourfulness"),
    "image_dominant_share": ("float64", "share of the image in its dominant colour"),
}


def history_features() -> list[tuple[str, str, str]]:
    out = []
    for name, sql_type in HISTORY_COLUMNS:
        prefix, metric, window = name.split("_")
        who = "the ad" if prefix == "ad" else "the ad's account"
        out.append((name, "int64" if sql_type == "INTEGER" else "float64",
                    f"{_HISTORY_DEFS[metric]} of {who} over the {window[:-1]} days "
                    "strictly before the row's date"))
    return out


AD_KEY = (("platform", "string"), ("account_id", "string"), ("ad_id", "string"),
           ("date", "date"))
ACCOUNT_KEY = (("platform", "string"), ("account_id", "string"), ("date", "date"))

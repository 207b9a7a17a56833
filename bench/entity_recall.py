"""Offer / urgency precision and recall, price exactness and topic accuracy on labelled ads.

Scores ``extract_entities`` and ``classify_topic`` on the held-out offer/urgency set
(written before tuning, never tuned on) and on the tuning set, and topic accuracy on the
older topic sets of ``labelled_ads.py``; prints one JSON object. Results: bench/README.md.

    python bench/entity_recall.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.transforms.enrichment.labelled_ads import HOLDOUT_ADS, TUNING_ADS  # noqa: E402
from tests.transforms.enrichment.offer_scoring import score  # noqa: E402
from tests.transforms.enrichment.offer_urgency_holdout import HELD_OUT_OFFER_ADS  # noqa: E402
from tests.transforms.enrichment.offer_urgency_tuning import TUNING_OFFER_ADS  # noqa: E402
from within_daemon.transforms.enrichment.topics import topic_from_record  # noqa: E402


def main() -> None:
    def topic_accuracy(ads: tuple[object, ...]) -> float:
        return round(sum(topic_from_record(a.record()).topic == a.topic  # type: ignore[attr-defined]
                         for a in ads) / len(ads), 3)

    def rounded(d: dict[str, object]) -> dict[str, object]:
        return {k: (round(v, 3) if isinstance(v, float) else
                    rounded(v) if isinstance(v, dict) else v) for k, v in d.items()}

    print(json.dumps({
        "held_out_offer_ads": rounded(score(HELD_OUT_OFFER_ADS)),
        "tuning_offer_ads": rounded(score(TUNING_OFFER_ADS)),
        "topic_labelled_ads": {"tuning": topic_accuracy(TUNING_ADS),
                               "held_out": topic_accuracy(HOLDOUT_ADS)},
    }, indent=2))


if __name__ == "__main__":
    main()

"""The shipped topic taxonomy: IAB-style tier-1 categories with weighted keywords (data only).

The keywords are in one module per group of topics (:mod:`.shopping`, :mod:`.services`,
:mod:`.leisure`), the tier weights in :mod:`.weights`; this package joins them.

``TAXONOMY`` maps each topic to weight tiers, each tier to keywords or phrases written as
an analyst would type them ("credit card", "t-shirt", "men's"). ``topics.py`` pushes every
keyword through the same tokenizer and light plural stemmer it applies to ad text, so the
singular or the plural is enough, hyphens and apostrophes do not matter, and a phrase is
matched as a run of tokens. A keyword may appear under several topics with different
weights; a longer phrase that matches hides the words inside it ("home equity" counts for
finance only, not also "home" for home_garden), which is how ambiguous words are steered.

The weights are evidence, not probabilities: ``STRONG`` words almost settle the topic on
their own, ``GOOD`` ones usually point the right way, ``WEAK`` ones are shared between
topics, ``HINT`` words only break ties. ``other`` has keywords too (charity, politics,
legal, dating, religion, weddings, parenting, business services): topics the tier-1 list
leaves out, which would otherwise fall into the nearest listed topic.

Keywords come from each category's everyday vocabulary and were tuned only against the
tuning half of ``tests/transforms/enrichment/labelled_ads.py`` and the tuning offer ads of
``offer_urgency_tuning.py``; the held-out halves were written before the tuning rounds.
Editing it is fine, but the held-out accuracy in
``topics.py`` then describes the old data: re-measure, and look at the held-out mistakes
only to report them, or they stop being held out.
"""

from __future__ import annotations

from typing import Final

from within_daemon.transforms.enrichment.taxonomy.leisure import LEISURE
from within_daemon.transforms.enrichment.taxonomy.services import SERVICES
from within_daemon.transforms.enrichment.taxonomy.shopping import SHOPPING
from within_daemon.transforms.enrichment.taxonomy.weights import GOOD, HINT, STRONG, WEAK

__all__ = ["GOOD", "HINT", "STRONG", "SUBJECT_TOPICS", "TAXONOMY", "TOPICS", "WEAK"]

#: Every topic ``classify_topic`` can return; "other" is the fallback for weak evidence.
TOPICS: Final[tuple[str, ...]] = (
    "apparel", "travel", "finance", "food_drink", "education", "software", "home_garden",
    "health_fitness", "beauty", "automotive", "electronics", "entertainment", "real_estate",
    "pets", "sports_outdoors", "jobs_careers", "other",
)

#: The keyword lists live in one module per group of topics (a topic missing from all of
#: them fails at import); joined here in ``TOPICS`` order, the order they were written in.
_BY_TOPIC: Final = {**SHOPPING, **SERVICES, **LEISURE}
TAXONOMY: Final[dict[str, dict[float, tuple[str, ...]]]] = {t: _BY_TOPIC[t] for t in TOPICS}


#: Topics that are the subject of an ad whenever they are named: a STRONG word of the key
#: topic (a puppy, a cat) turns the listed topics' evidence into evidence for it, because
#: then those words describe the animal's care and food ("wellness plans for puppies",
#: "dental cleanings", "fresh food for dogs", "recipe with salmon"), not a person's. Tuned
#: on ``offer_urgency_tuning.py``.
SUBJECT_TOPICS: Final[dict[str, tuple[str, ...]]] = {
    "pets": ("health_fitness", "food_drink"),
}

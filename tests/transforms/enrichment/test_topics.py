"""Topic classification: accuracy on the labelled ads, scoring rules, and the taxonomy data."""

from __future__ import annotations

import math

import pytest

from within_daemon.transforms.enrichment import topics
from within_daemon.transforms.enrichment.taxonomy import TAXONOMY, TOPICS
from within_daemon.transforms.enrichment.topics import (
    OTHER_PRIOR,
    TEMPERATURE,
    TopicFeatures,
    brand_words,
    classify_topic,
    stem,
    tokenize,
    topic_from_record,
    topic_scores,
    url_tokens,
)

from .labelled_ads import HOLDOUT_ADS, LABELLED_ADS, TUNING_ADS, LabelledAd

# Measured 2026-11-28 (see topics.py): 0.838 on all 130 ads, 0.700 on the 70 held-out ads,
# 1.000 on the 60 tuning ads; 2026-12-05 after the offer/urgency tuning: 0.846, 0.714, 1.000.
# The floors leave a margin for deliberate taxonomy edits;
# falling below them means an edit made the classifier worse on ads it was not tuned on.
MIN_ACCURACY_ALL = 0.80
MIN_ACCURACY_HOLDOUT = 0.65


def accuracy(ads: tuple[LabelledAd, ...]) -> float:
    return sum(topic_from_record(ad.record()).topic == ad.topic for ad in ads) / len(ads)


def test_labelled_set_is_large_varied_and_half_held_out() -> None:
    """~120+ ads, every topic labelled, and at least half of them held out from tuning."""
    assert len(LABELLED_ADS) >= 120
    assert len(HOLDOUT_ADS) * 2 >= len(LABELLED_ADS)
    assert {ad.topic for ad in LABELLED_ADS} == set(TOPICS)
    assert {ad.topic for ad in HOLDOUT_ADS} == set(TOPICS)
    texts = [(ad.headline, ad.description) for ad in LABELLED_ADS]
    assert len(set(texts)) == len(texts)


def test_accuracy_on_the_whole_labelled_set() -> None:
    """Accuracy on all labelled ads stays at or above the measured figure minus a margin."""
    assert accuracy(LABELLED_ADS) >= MIN_ACCURACY_ALL


def test_accuracy_on_the_held_out_ads() -> None:
    """Accuracy on the ads never used for tuning stays above its floor too."""
    assert accuracy(HOLDOUT_ADS) >= MIN_ACCURACY_HOLDOUT
    assert accuracy(TUNING_ADS) >= 0.95


def test_no_evidence_is_other_with_low_confidence() -> None:
    """Empty or generic text is 'other', with the uniform softmax share and no runner-up."""
    for args in [(), ("Big sale", "", "Shop Now", "https://example.com/lp?id=3")]:
        got = classify_topic(*args)
        uniform = 1 / (1 + (len(TOPICS) - 1) * math.exp(-OTHER_PRIOR / TEMPERATURE))
        assert got == TopicFeatures(
            topic="other", topic_confidence=round(uniform, 4), topic_runner_up=None,
            topic_score=0.0,
        )
        assert got.topic_confidence < 0.2


def test_one_weak_keyword_stays_other_with_it_as_runner_up() -> None:
    """Evidence up to OTHER_PRIOR does not leave 'other'; the listed topic is runner-up."""
    got = classify_topic("Made with organic cotton")  # cotton is WEAK apparel, organic GOOD food
    assert topic_scores("Made with organic cotton") == {"apparel": 1.0, "food_drink": 2.0}
    assert got.topic == "food_drink"
    weak = classify_topic("Soft cotton")
    assert (weak.topic, weak.topic_runner_up) == ("other", "apparel")


def test_confidence_grows_with_evidence_and_stays_in_range() -> None:
    """More matching keywords give higher confidence, always within 0..1."""
    one = classify_topic("Dog")
    two = classify_topic("Dog treats for puppies")
    three = classify_topic("Dog treats for puppies", "Kibble, leashes and vet-approved chews.")
    assert one.topic == two.topic == three.topic == "pets"
    assert 0 < one.topic_confidence < two.topic_confidence < three.topic_confidence <= 1
    assert three.topic_score > two.topic_score > one.topic_score


def test_runner_up_is_the_second_listed_topic() -> None:
    """The runner-up is the best other listed topic with evidence."""
    got = classify_topic("Car insurance quotes", "Compare auto insurance rates in minutes.")
    assert got.topic == "finance"
    assert got.topic_runner_up == "automotive"


@pytest.mark.parametrize("word,expected", [
    ("puppies", "puppy"), ("boxes", "box"), ("watches", "watch"), ("dresses", "dress"),
    ("shoes", "shoe"), ("glasses", "glass"), ("news", "news"), ("bus", "bus"),
    ("analytics", "analytics"), ("jeans", "jeans"), ("cars", "car"), ("tvs", "tvs"),
])
def test_light_stemming_of_plurals(word: str, expected: str) -> None:
    """Plurals fold to the singular; non-plural final s and words of <= 3 letters are kept."""
    assert stem(word) == expected


def test_tokenizer_drops_possessives_and_splits_hyphens() -> None:
    """Possessives drop (men's -> men), hyphens and punctuation split words."""
    assert tokenize("Men's T-Shirts, 2-for-1!") == ["men", "t", "shirt", "2", "for", "1"]


def test_singular_and_plural_match_the_same_keyword() -> None:
    """A keyword written singular matches the plural in ads, and the other way round."""
    assert topic_scores("puppy")["pets"] == topic_scores("puppies")["pets"]
    assert topic_scores("laptop")["electronics"] == topic_scores("laptops")["electronics"]


def test_a_phrase_hides_the_words_inside_it() -> None:
    """'home equity' counts for finance only, not also 'home' for home_garden."""
    assert "home_garden" not in topic_scores("Home equity lines of credit")
    assert "home_garden" in topic_scores("Home décor lines")


def test_repeated_keywords_count_once() -> None:
    """Keyword stuffing does not add evidence: each distinct term counts once per ad."""
    assert topic_scores("Shoes shoes shoes", "Shoes!") == topic_scores("Shoes")


def test_url_path_words_count_but_not_the_query_string() -> None:
    """Landing page path words are evidence (weighted 0.75); query parameters are not."""
    assert url_tokens("https://www.shop.com/dog-toys/squeaky?utm_term=mortgage#top") == [
        "dog", "toy", "squeaky",
    ]
    got = classify_topic("50% off everything", "", "Shop Now", "https://x.com/dog-toys")
    assert got.topic == "pets"
    assert topic_scores(landing_page_url="https://x.com/dog") == {"pets": 3.0 * 0.75}
    assert classify_topic(landing_page_url="https://x.com/?q=mortgage").topic == "other"
    assert url_tokens("http://[::1") == []


def test_record_adapter_reads_the_four_text_fields() -> None:
    """topic_from_record uses headline, description, cta and URL, and tolerates None."""
    rec = {"headline": None, "description": "Fresh kibble for your dog", "cta": 7,
           "landing_page_url": None}
    assert topic_from_record(rec) == classify_topic("", "Fresh kibble for your dog")
    assert topic_from_record({}).topic == "other"


def test_taxonomy_covers_the_required_topics_and_is_well_formed() -> None:
    """All required tier-1 topics exist; tiers are tuples of non-empty keyword strings."""
    required = {
        "apparel", "travel", "finance", "food_drink", "education", "software", "home_garden",
        "health_fitness", "beauty", "automotive", "electronics", "entertainment",
        "real_estate", "pets", "sports_outdoors", "jobs_careers", "other",
    }
    assert required <= set(TOPICS)
    assert set(TAXONOMY) == set(TOPICS)
    for topic, tiers in TAXONOMY.items():
        assert tiers, topic
        for weight, words in tiers.items():
            assert weight > 0 and isinstance(words, tuple), (topic, weight)
            assert all(isinstance(w, str) and tokenize(w) for w in words), (topic, weight)
    listed = [t for t in TOPICS if t != "other"]
    assert all(sum(len(w) for w in TAXONOMY[t].values()) >= 40 for t in listed)


def test_columns_follow_the_struct_fields() -> None:
    """columns() names every field once with its SQL type."""
    assert topics.columns() == [
        ("topic", "TEXT"), ("topic_confidence", "REAL"), ("topic_runner_up", "TEXT"),
        ("topic_score", "REAL"),
    ]


def test_brand_words_split_run_together_host_labels() -> None:
    """A glued brand label yields the keywords inside it; short, known or noise labels none."""
    assert brand_words("lashloft") == ["lash"]
    assert brand_words("fitkitchens") == ["kitchen"]
    assert brand_words("denim") == []  # a keyword itself: matched whole, not split
    assert brand_words("zqxjvw") == []
    # The reserved documentation host is noise: "example" would otherwise give "exam".
    assert classify_topic("Big sale", "", "", "https://example.com").topic_runner_up is None
    # A brand word is weak evidence: alone it does not lift an ad out of "other".
    assert classify_topic("Big sale", "", "Shop Now", "https://lashloft.com").topic == "other"


def test_a_pet_named_in_the_text_takes_its_care_and_food_words() -> None:
    """Health and food words describe the animal when a pet is named in the ad's text."""
    pets = classify_topic("Wellness plans for puppies", "Vaccines and dental cleanings.")
    assert pets.topic == "pets" and pets.topic_runner_up != "health_fitness"
    assert classify_topic("Dental cleanings and wellness checkups", "").topic == "health_fitness"
    # A pet word only in the URL is not the subject: a meal kit stays food.
    food = classify_topic("16 free meals", "Chef-designed recipes, fresh ingredients.", "",
                          "https://www.freshcrate.com/plans")
    assert food.topic == "food_drink"

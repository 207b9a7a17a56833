"""Rule-based entity extraction from ad text, and the text-enricher registry."""

from __future__ import annotations

import msgspec
import pytest

from within_daemon.loaders.schema.columns import sql_columns
from within_daemon.transforms import enrichment
from within_daemon.transforms.enrichment import (
    TEXT_ENRICHER_FIELDS,
    TEXT_ENRICHERS,
    EntityFeatures,
    SentimentFeatures,
    TopicFeatures,
    enrich_text,
    entities,
    entities_from_record,
    extract_entities,
    text_fields,
)


def split(value: str | None) -> list[str]:
    return value.split("|") if value else []


# -- money -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text,price,currency", [
    ("Now $19.99", 19.99, "USD"),
    ("Nur 19,99 € im Shop", 19.99, "EUR"),
    ("Nur 19,99\u00a0€ im Shop", 19.99, "EUR"),
    ("From USD 20 per seat", 20.0, "USD"),
    ("Tickets £5", 5.0, "GBP"),
    ("Only US$5", 5.0, "USD"),
    ("C$12.50 a month", 12.5, "CAD"),
    ("Plans from 20 dollars", 20.0, "USD"),
    ("Laptops from $1,299", 1299.0, "USD"),
    ("Sofa 1.299,00 € statt 1.599,00 €", 1299.0, "EUR"),
    ("Credit lines up to $250K", 250000.0, "USD"),
    ("Hotel rooms from 89 EUR", 89.0, "EUR"),
])
def test_prices_in_common_formats(text: str, price: float, currency: str) -> None:
    """Symbol before or after, ISO codes, words, thousands separators and K suffixes."""
    got = extract_entities(text)
    assert (got.price_min, got.price_currency) == (price, currency)


def test_price_range_and_first_currency_wins() -> None:
    """min/max cover the first amount's currency; amounts in other currencies are left out."""
    got = extract_entities("Jackets $49.99 – $129", "In Europe from 45 €. Socks $5.")
    assert (got.price_min, got.price_max, got.price_currency) == (5.0, 129.0, "USD")


def test_savings_are_not_prices() -> None:
    """'save $500', '$20 off' and '$1,500 bonus cash' are savings, not prices."""
    got = extract_entities(
        "Save $500 on a new sofa", "Plus $20 off and $1,500 bonus cash. From $899.",
    )
    assert (got.price_min, got.price_max) == (899.0, 899.0)
    assert got.discount_amount_max == 1500.0
    only_saving = extract_entities("Drivers who switch save $500 on average")
    assert only_saving.price_min is None and only_saving.price_currency == "USD"


def test_numbers_without_currency_are_not_prices() -> None:
    """Counts, sizes and ratings carry no currency and are ignored."""
    got = extract_entities(
        "2,400 listings, 4.8 stars", "65-inch TV, 12,000 lbs towing, 20g protein",
    )
    assert got == EntityFeatures()


# -- discounts, offers, urgency --------------------------------------------------------------


@pytest.mark.parametrize("text,expected", [
    ("30% off everything", 30.0),
    ("Save 20% on your first order", 20.0),
    ("Up to 70% off outerwear, 10% off socks", 70.0),
    ("Half price on all sweaters", 50.0),
    ("Jusqu'à -50 % sur les manteaux", 50.0),
    ("Take 12.5% discount today", 12.5),
    ("100% cotton, 0% APR, 4.50% APY", None),
    ("Up to 90% back on vet bills", None),
])
def test_discount_percent_only_in_discount_context(text: str, expected: float | None) -> None:
    """Percentages count as discounts only next to off / save / discount / a minus sign."""
    assert extract_entities(text).discount_percent_max == expected


def test_offer_labels_and_flags() -> None:
    """Offer phrases map to canonical labels in a fixed order, with the three flags set."""
    got = extract_entities(
        "BOGO on all sneakers",
        "Free shipping and free returns. Start your free trial. Free gift with purchase. "
        "Use code WINTER20. 30-day money-back guarantee. Pay in 4, interest-free.",
        "Get a Free Quote",
    )
    assert split(got.offer_terms) == [
        "free_shipping", "free_returns", "bogo", "free_trial", "free_gift", "promo_code",
        "money_back", "free_consultation", "financing",
    ]
    assert got.has_free_shipping and got.has_bogo and got.has_trial


@pytest.mark.parametrize("text,label", [
    ("Buy one, get one free on socks", "bogo"),
    ("Buy 3 tires, get the 4th free", "bogo"),
    ("Buy 2 get 1 half price", "bogo"),
    ("Ships free in 2 days", "free_shipping"),
    ("Livraison offerte dès 60 €", "free_shipping"),
    ("First month free, cancel anytime", "free_trial"),
    ("Try it free for 30 days", "free_trial"),
    ("100-night trial on every mattress", "free_trial"),
    ("3 months for $0 with Premium", "free_trial"),
    ("0% APR for 60 months", "financing"),
])
def test_offer_phrasings(text: str, label: str) -> None:
    """Different wordings of one offer give the same label."""
    assert label in split(extract_entities(text).offer_terms)


def test_free_product_is_free_access_not_returns_or_trial() -> None:
    """'File your return free' is not free returns; 'free to play' is free access, no trial."""
    got = extract_entities("File your federal return free", "Free to play on iOS")
    assert split(got.offer_terms) == ["free_access"] and not got.has_trial


@pytest.mark.parametrize("text", [
    "Sugar-free, gluten-free and hands-free", "Feel free to ask our staff",
    "Free-range eggs from local farms", "Worry-free setup in minutes",
])
def test_free_compounds_are_not_offers(text: str) -> None:
    """'-free' compounds and 'feel free' offer nothing."""
    assert extract_entities(text).offer_terms is None


@pytest.mark.parametrize("text,label", [
    ("Children stay free in family rooms", "free_extra"),
    ("Third night on us at every lodge", "free_extra"),
    ("Free installation on every water heater", "free_extra"),
    ("Complimentary valet parking for diners", "free_extra"),
    ("Listen to podcasts free", "free_access"),
    ("The free plan is free forever", "free_access"),
    ("Free cancellation up to 24 hours before", "free_returns"),
    ("Get free quotes from local pros", "free_consultation"),
])
def test_every_form_of_free_has_a_label(text: str, label: str) -> None:
    """Free offers beyond shipping, trials and gifts get free_extra or free_access."""
    assert split(extract_entities(text).offer_terms) == [label]


def test_urgency_labels() -> None:
    """Urgency phrases map to canonical labels in a fixed order and set has_urgency."""
    got = extract_entities(
        "Today only: limited-time deals",
        "Last chance! Sale ends Sunday. Book by Friday. While supplies last. "
        "Next 24 hours only. Hurry!",
    )
    assert split(got.urgency_terms) == [
        "today_only", "limited_time", "last_chance", "ends_soon", "deadline",
        "while_supplies_last", "hours_left", "hurry",
    ]
    assert got.has_urgency


@pytest.mark.parametrize("text,labels", [
    ("Only 3 days left to save", ["ends_soon"]),
    ("This week only: 20% off", ["limited_time"]),
    ("Offer expires in 24 hours", ["ends_soon", "hours_left"]),
    ("Valid through the end of the month", ["ends_soon"]),
    ("Prices go up next week", ["deadline"]),
    ("Deals like this won't last", ["hurry"]),
    ("Order yours now", ["act_now"]),
    ("Call today to book your spot", ["act_now"]),
])
def test_relative_days_weeks_and_now_calls(text: str, labels: list[str]) -> None:
    """Relative deadlines, periods and calls to act now are urgency."""
    assert split(extract_entities(text).urgency_terms) == labels


def test_a_now_button_or_now_open_is_not_urgency() -> None:
    """'Shop Now' on the button, 'now available' and 'now hiring' are no call to hurry."""
    got = extract_entities("Now hiring in Denver", "Now available in 3 colours.", "Shop Now")
    assert got.urgency_terms is None

@pytest.mark.parametrize("text", [
    "Get a free home valuation in 24 hours",
    "40 hours of battery and 24/7 support",
    "The fun never ends here",
])
def test_durations_and_plain_verbs_are_not_urgency(text: str) -> None:
    """A delivery time, a battery life or 'never ends' is not a countdown."""
    got = extract_entities(text)
    assert got.urgency_terms is None and not got.has_urgency


# -- dates, phones, URLs, brands -------------------------------------------------------------


def test_dates_as_written() -> None:
    """Month-day, day-month, ISO, d/m, weekdays and named sale days; 24/7 is not a date."""
    got = extract_entities(
        "Black Friday starts Dec 24",
        "Open 24/7. Doors open 2024-12-24 and 24/12 (or 25 December 2024), Friday and Mondays. "
        "Apply by March 1st. 1/2 price.",
    )
    assert split(got.dates) == [
        "Black Friday", "Dec 24", "2024-12-24", "24/12", "25 December 2024", "Friday",
        "Mondays", "March 1st",
    ]


def test_phone_numbers_normalised() -> None:
    """North American numbers become E.164, others keep + and digits; vanity letters stay."""
    got = extract_entities(
        "Call 1-800-FLOWERS",
        "or (800) 555-0199, 1-888-555-0123, +44 20 7946 0958 or 020 7946 0958.",
    )
    assert split(got.phone_numbers) == [
        "1800FLOWERS", "+18005550199", "+18885550123", "+442079460958", "02079460958",
    ]


def test_prices_and_dates_are_not_phone_numbers() -> None:
    """Money, ISO dates, counts and zip codes do not look like phone numbers."""
    got = extract_entities("$389,900 homes", "Open 2024-12-24, 20,000 sleepers, 94107-1234")
    assert got.phone_numbers is None


def test_urls_and_domains_without_scheme_or_www() -> None:
    """URLs and bare domains become host[/path]; e-mail addresses are not URLs."""
    got = extract_entities(
        "Visit https://www.Acme.com/sale/.",
        "Or shop.example.co.uk, movewell.health/back-pain and www.foo.io. "
        "Questions? help@acme.com. St. Mary's, 4.8 stars, e.g. Node.js",
    )
    assert split(got.urls) == [
        "acme.com/sale", "shop.example.co.uk", "movewell.health/back-pain", "foo.io",
    ]


def test_brands_from_marks_camel_case_and_capitalised_runs() -> None:
    """™/® names, camelCase words and capitalised runs inside sentences are brands."""
    got = extract_entities(
        "Try the new Nike Air Max™ today",
        "Designed with Harbour & Pine. Get Samsung Galaxy S24 for your iPhone. "
        "Meet Sarah Jones at the Velcro® booth.",
        "Shop Now",
    )
    assert split(got.brands) == [
        "Nike Air Max", "Velcro", "iPhone", "Harbour & Pine", "Samsung Galaxy S24",
        "Sarah Jones",
    ]


@pytest.mark.parametrize("headline,description", [
    ("Winter Coats Up To 50% Off Today", "Our Best Sellers Are Back In Stock"),
    ("The all-new range", "Rated 4.8 by 20,000 sleepers. Standard AWD, 38 MPG."),
    ("Sale", "USD 20 gift card on Dec 24. LIMITED TIME OFFER ENDS SOON."),
])
def test_title_case_sentence_starts_numbers_and_shouting_are_not_brands(
    headline: str, description: str,
) -> None:
    """Title Case fields, first words, numbers, dates and all-caps runs give no brands."""
    assert extract_entities(headline, description, "Schedule Test Drive").brands is None


def test_empty_text_gives_defaults() -> None:
    """No text: every list and number is None and every flag False."""
    assert extract_entities() == EntityFeatures()
    assert entities_from_record({"headline": None, "cta": 3}) == EntityFeatures()


def test_lists_are_deduplicated_and_pipe_free() -> None:
    """Repeats (any case) appear once, and a '|' inside an item cannot split the column."""
    got = extract_entities("Friday! FRIDAY! friday", "Visit acme.com or ACME.com")
    assert (got.dates, got.urls) == ("Friday", "acme.com")
    assert extract_entities("See https://acme.com/a|b now").urls == "acme.com/a/b"


def test_record_adapter_reads_headline_description_and_cta() -> None:
    """entities_from_record ignores the landing page URL, which is its own column."""
    rec = {"headline": "Sale $10", "description": "Free shipping", "cta": "Call 800-555-0199",
           "landing_page_url": "https://acme.com/x"}
    got = entities_from_record(rec)
    assert got == extract_entities("Sale $10", "Free shipping", "Call 800-555-0199")
    assert got.urls is None and got.phone_numbers == "+18005550199"


def test_columns_follow_the_struct_fields() -> None:
    """The loader's columns name every field once; flags are INTEGER 0/1, lists TEXT."""
    cols = dict(sql_columns(entities.fields()))
    assert list(cols) == list(EntityFeatures.__struct_fields__)
    assert cols["price_min"] == cols["discount_percent_max"] == "REAL"
    assert cols["has_bogo"] == cols["has_urgency"] == "INTEGER"
    assert cols["offer_terms"] == cols["brands"] == cols["price_currency"] == "TEXT"


# -- the registry ----------------------------------------------------------------------------

AD = {
    "ad_id": "1", "headline": "Winter Coats Up to 50% Off",
    "description": "Free shipping today only. You'll love them!", "cta": "Shop Now",
    "landing_page_url": "https://www.example.com/outerwear", "impressions": 10,
}


def test_registry_names_match_the_seed() -> None:
    """TEXT_ENRICHERS has the seed's three text enrichments, each returning its struct."""
    assert set(TEXT_ENRICHERS) == {"sentiment", "topic_classification", "entity_extraction"}
    assert isinstance(TEXT_ENRICHERS["sentiment"](AD), SentimentFeatures)
    assert isinstance(TEXT_ENRICHERS["topic_classification"](AD), TopicFeatures)
    assert isinstance(TEXT_ENRICHERS["entity_extraction"](AD), EntityFeatures)


def test_column_names_never_collide() -> None:
    """No column name appears in two enrichers, nor in the ad record schema."""
    from within_daemon.schema import AD_FIELDS

    names = [c for cols in TEXT_ENRICHER_FIELDS.values() for c, _ in cols]
    assert len(names) == len(set(names))
    assert not set(names) & set(AD_FIELDS)


def test_enrich_text_merges_the_chosen_columns() -> None:
    """enrich_text returns exactly the fields text_fields lists, with typed values."""
    names = ["topic_classification", "sentiment", "entity_extraction"]
    got = enrich_text(AD, names)
    assert list(got) == [c for c, _ in text_fields(names)]
    assert got["topic"] == "apparel"
    assert got["has_free_shipping"] is True and got["discount_percent_max"] == 50.0
    assert got["sentiment_status"] == "ok" and got["sentiment_compound"] > 0
    expected = msgspec.structs.asdict(TEXT_ENRICHERS["sentiment"](AD))
    assert enrich_text(AD, ["sentiment", "sentiment"]) == expected


def test_enrich_text_rejects_unknown_names() -> None:
    """A name outside TEXT_ENRICHERS (e.g. historical_performance) raises ValueError."""
    with pytest.raises(ValueError, match="historical_performance"):
        enrich_text(AD, ["sentiment", "historical_performance"])
    with pytest.raises(ValueError):
        text_fields(["image_analysis"])
    assert enrich_text(AD, []) == {}


def test_package_exports_only_names_that_exist() -> None:
    """Every name in the package's __all__ resolves."""
    assert all(hasattr(enrichment, name) for name in enrichment.__all__)

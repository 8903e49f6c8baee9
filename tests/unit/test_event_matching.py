"""The fit between an SME's offer and a buyer's needs (pure): shared S3 domains weigh most, then
shared keywords (accents, case, stop words and plurals aside), then countries and languages;
the ranking is deterministic and does not depend on the order of the input."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from opsapp.events import matching
from opsapp.events.matching import Profile, fit, keywords, suggestions


def profile(pid, name, text="", domains=(), countries=(), languages=()):
    return Profile(pid, name, text, frozenset(domains), frozenset(countries), frozenset(languages))


def test_keywords_lowercase_strip_accents_stop_words_short_words_and_plurals():
    words = keywords("Sensori per la qualità: the SENSORS and a sensor for Packaging lines, AI, 2027")
    assert "sensor" in words and words["sensor"] == "sensors"  # the longest form is shown
    assert "qualita" in words  # accent stripped
    assert "packaging" in words and "line" in words
    for dropped in ("per", "la", "the", "and", "for", "ai", "2027"):
        assert dropped not in words


def test_plural_stemming_is_light():
    assert matching.stem("batteries") == "battery"
    assert matching.stem("boxes") == "box"
    assert matching.stem("sensors") == "sensor"
    assert matching.stem("process") == "process"
    assert matching.stem("analysis") == "analysis"
    assert matching.stem("bus") == "bus"


def test_fit_counts_domains_strongly_then_words_then_countries_and_languages():
    sme = profile(1, "Alfa", "Predictive maintenance sensors for food packaging", ["Agri-food", "ICT"], ["IT", "FR"],
                  ["en", "it"])
    buyer = profile(2, "Buyer", "We need sensor analytics for our packaging plants", ["Agri-food"], ["FR"], ["en"])
    result = fit(sme, buyer)
    assert result.shared_domains == ("Agri-food",)
    assert result.shared_keywords == ("packaging", "sensors")
    assert result.score == 10 + 2 * 3 + 1 + 1
    kinds = [kind for kind, _values in result.reasons]
    assert kinds == [matching.DOMAINS, matching.KEYWORDS, matching.COUNTRIES, matching.LANGUAGES]


def test_sharing_only_a_language_or_a_country_is_no_fit():
    a = profile(1, "A", "Robots for welding", [], ["IT"], ["en"])
    b = profile(2, "B", "Cloud accounting software", [], ["IT"], ["en"])
    assert fit(a, b).score == 0 and fit(a, b).reasons == ()


def test_domains_match_case_insensitively():
    a = profile(1, "A", "", ["agri-food"])
    b = profile(2, "B", "", ["Agri-food"])
    assert fit(a, b).shared_domains == ("Agri-food",)


def test_suggestions_rank_by_score_then_name_and_leave_out_zero_fits_and_me():
    me = profile(1, "Me", "sensors packaging", ["ICT"])
    others = [
        profile(2, "Zeta", "sensors", ["ICT"]),        # 10 + 3
        profile(3, "beta", "sensors packaging", []),    # 6
        profile(4, "Alfa", "sensors", ["ICT"]),        # 10 + 3, before Zeta by name
        profile(5, "Nothing", "bakery", []),            # 0: left out
        me,
    ]
    ranked = suggestions(me, others, limit=None)
    assert [s.profile.name for s in ranked] == ["Alfa", "Zeta", "beta"]
    assert [s.profile.name for s in suggestions(me, others, limit=2)] == ["Alfa", "Zeta"]


WORDS = ["sensor", "sensors", "packaging", "robot", "robots", "cloud", "energy", "battery", "batteries",
         "qualità", "qualita", "logistics", "the", "per", "ai", "food", "textile", "welding"]
DOMAINS = ["ICT", "Agri-food", "Energy", "Textile", "Aerospace"]
COUNTRIES = ["IT", "FR", "DE", "ES"]
LANGS = ["en", "it", "fr"]


@st.composite
def profiles(draw, pid):
    return profile(
        pid,
        draw(st.sampled_from(["Alfa", "Beta", "beta", "Gamma", "Delta", "Èpsilon"])),
        " ".join(draw(st.lists(st.sampled_from(WORDS), max_size=8))),
        draw(st.sets(st.sampled_from(DOMAINS), max_size=3)),
        draw(st.sets(st.sampled_from(COUNTRIES), max_size=3)),
        draw(st.sets(st.sampled_from(LANGS), max_size=2)),
    )


@st.composite
def markets(draw):
    me = draw(profiles(0))
    n = draw(st.integers(min_value=0, max_value=8))
    others = [draw(profiles(i + 1)) for i in range(n)]
    return me, others


@settings(max_examples=200, deadline=None)
@given(markets(), st.randoms(use_true_random=False))
def test_the_ranking_does_not_depend_on_the_order_of_the_input(market, rnd):
    me, others = market
    shuffled = list(others)
    rnd.shuffle(shuffled)
    first = [(s.profile.id, s.fit) for s in suggestions(me, others, limit=None)]
    second = [(s.profile.id, s.fit) for s in suggestions(me, shuffled, limit=None)]
    assert first == second
    assert all(s.fit.score > 0 for s in suggestions(me, others, limit=None))
    scores = [s.fit.score for s in suggestions(me, others, limit=None)]
    assert scores == sorted(scores, reverse=True)


@settings(max_examples=200, deadline=None)
@given(profiles(1), profiles(2))
def test_fit_is_symmetric(a, b):
    assert fit(a, b) == fit(b, a)

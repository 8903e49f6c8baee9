"""The fit between an SME's offer and a buyer's needs, for the marketplace's suggested matches.

Pure (standard library only): the caller turns participants into `Profile` values and
shows the reasons in the reader's language. The fit counts what both profiles share:

- S3 domains (the strong signal: `DOMAIN_POINTS` each);
- keywords of the texts (offer or needs with the headline): lower-cased, accents stripped,
  English and Italian stop words, marketplace filler words and words shorter than
  `MIN_WORD` dropped, a light stemming of plurals ("sensors" and "sensor" meet)
  (`KEYWORD_POINTS` each, at most `MAX_KEYWORDS` of them counted);
- countries of interest and languages (`SMALL_POINTS` each), a small bonus that never
  makes a match on its own: two profiles sharing nothing but English do not fit.

`fit(a, b)` is symmetric, and `suggestions(me, others, limit)` ranks the others by score,
then by name and id, so that the order never depends on the order of the input.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

DOMAIN_POINTS = 10
KEYWORD_POINTS = 3
SMALL_POINTS = 1
MAX_KEYWORDS = 10
MIN_WORD = 3

# Reason kinds, in the order they are given; the pages word them.
DOMAINS, KEYWORDS, COUNTRIES, LANGUAGES = "domains", "keywords", "countries", "languages"

STOP_WORDS = frozenset("""
a about above after again against all also am an and any are aren as at be because been before being
below between both but by can cannot could did do does doing down during each etc few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself just let
me more most my myself no nor not of off on once only or other our ours ourselves out over own per same
she should so some such than that the their theirs them themselves then there these they this those
through to too under until up very via was we were what when where which while who whom why will with
within without would you your yours yourself yourselves new using use used based well able across like
include includes including make makes want wants seek seeks seeking looking look offer offers need needs
provide provides providing solution solutions product products service services company companies
business businesses innovative innovation customer customers client clients field sector sectors
ad al alla alle allo agli ai anche che chi ci come con contro cui da dal dalla dalle dallo dagli dai del
della delle dello degli dei di dove e ed era essere gli ha hanno il in io la le lei lo loro lui ma mi ne
nei nel nella nelle nello negli noi non nostra nostre nostri nostro o per perche piu poi quale quali
quando quella quelle quelli quello questa queste questi questo se sei si sia siamo sono su sua sue sui
sul sulla sulle sullo sugli suo suoi tra tu tutti tutto un una uno vi voi cerca cerchiamo cerchiamo
offriamo offre offerta azienda aziende impresa imprese prodotto prodotti servizio servizi soluzione
soluzioni innovativo innovativa innovativi innovative cliente clienti settore settori nuovo nuova nuovi
nuove tramite grazie
""".split())

_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Profile:
    """What the fit reads of a participant: its text (offer or needs, with the headline),
    the names of its S3 domains, its countries of interest and languages."""

    id: int
    name: str
    text: str = ""
    domains: frozenset[str] = field(default_factory=frozenset)
    countries: frozenset[str] = field(default_factory=frozenset)
    languages: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Fit:
    score: int
    shared_domains: tuple[str, ...] = ()
    shared_keywords: tuple[str, ...] = ()
    # (kind, values) pairs, kind one of DOMAINS, KEYWORDS, COUNTRIES, LANGUAGES; only non-empty ones.
    reasons: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Suggestion:
    profile: Profile
    fit: Fit


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def stem(word: str) -> str:
    """A light English plural stemming: "sensors" -> "sensor", "batteries" -> "battery",
    "boxes" -> "box"; words ending in "ss", "us" or "is" are left alone."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def keywords(text: str | None) -> dict[str, str]:
    """The keywords of a text: stem -> the form shown (the longest form met, then the first
    alphabetically, so that the choice does not depend on word order)."""
    found: dict[str, str] = {}
    for word in _WORD.findall(strip_accents((text or "").lower())):
        if len(word) < MIN_WORD or word.isdigit() or word in STOP_WORDS:
            continue
        root = stem(word)
        if root in STOP_WORDS or len(root) < MIN_WORD:
            continue
        found[root] = _shown(found.get(root), word)
    return found


def _shown(current: str | None, word: str) -> str:
    if current is None:
        return word
    return min(current, word, key=lambda w: (-len(w), w))


def _norm(values: Iterable[str]) -> dict[str, str]:
    """Case- and accent-insensitive keys to the value shown (the smallest spelling, for symmetry)."""
    found: dict[str, str] = {}
    for value in values:
        if not value:
            continue
        key = strip_accents(str(value)).casefold().strip()
        found[key] = min(found.get(key, value), value)
    return found


def _shared(a: Iterable[str], b: Iterable[str]) -> tuple[str, ...]:
    left, right = _norm(a), _norm(b)
    return tuple(sorted((min(left[k], right[k]) for k in left.keys() & right.keys()), key=str.casefold))


def fit(a: Profile, b: Profile) -> Fit:
    """How well two profiles fit (symmetric: fit(a, b) == fit(b, a))."""
    domains = _shared(a.domains, b.domains)
    words_a, words_b = keywords(a.text), keywords(b.text)
    common = sorted(words_a.keys() & words_b.keys())
    shared_words = tuple(sorted(_shown(words_a[k], words_b[k]) for k in common))
    countries = _shared(a.countries, b.countries)
    languages = _shared(a.languages, b.languages)
    base = DOMAIN_POINTS * len(domains) + KEYWORD_POINTS * min(len(shared_words), MAX_KEYWORDS)
    if base == 0:
        return Fit(0)
    score = base + SMALL_POINTS * (len(countries) + len(languages))
    reasons = tuple((kind, values) for kind, values in (
        (DOMAINS, domains), (KEYWORDS, shared_words), (COUNTRIES, countries), (LANGUAGES, languages)) if values)
    return Fit(score, domains, shared_words, reasons)


def rank_key(suggestion: Suggestion) -> tuple:
    return (-suggestion.fit.score, suggestion.profile.name.casefold(), suggestion.profile.name, suggestion.profile.id)


def suggestions(me: Profile, others: Iterable[Profile], limit: int | None = 5) -> list[Suggestion]:
    """The others that fit `me`, best first (ties by name, then id); none that does not fit."""
    found = []
    seen: set[int] = set()
    for other in others:
        if other.id == me.id or other.id in seen:
            continue
        seen.add(other.id)
        result = fit(me, other)
        if result.score > 0:
            found.append(Suggestion(other, result))
    found.sort(key=rank_key)
    return found if limit is None else found[:limit]

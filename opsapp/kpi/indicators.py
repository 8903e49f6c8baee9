"""Every figure of the monitoring, computed from plain pandas frames: the programme's own
indicators and the ERDF common indicators for a scope (programme, edition, S3 domain, size
class), the series over the three follow-up waves, the breakdowns, the comparison-group
estimate and the response per wave.

`sources.py` fills a `Frames` from the database once per programme; everything here is pure
(pandas, numpy beneath it, and the standard library): the same frames answer every edition,
S3 domain and size class, so the breakdowns reuse one load. An enterprise is counted once per measure, keyed by
its normalised VAT or registration number (`company_key`), also across editions; at each
wave a company followed after several editions is represented by its most recent follow-up
whose survey of that wave is due.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
import pandas as pd

from opsapp.kpi.catalogue import (
    ACCELERATOR,
    MEASURES,
    MEET_THE_BUYER,
    MIN_GROUP,
    SIZE_CLASSES,
    Unit,
    measures_of,
)
from opsapp.kpi.results import Breakdown, Impact, Monitoring, Scope, Value, WaveResponse

WAVES = (12, 24, 36)  # months after the end of the programme (models.WAVES; repeated to stay database-free)
PARTICIPANT, COMPARISON = "participant", "comparison"
UNKNOWN_SIZE = "unknown"
PRIVATE_SOURCES = ("private", "both")  # models.FundingSource values that count as private funding
PUBLIC_INVESTMENT_TYPES = ("grant",)  # cohorts InvestmentType values that are not private money
NEVER_SUPPRESSED = ("MTB-1.events",)  # events are not companies: nothing to protect

# The columns of each frame, with the value a missing cell takes when a frame is built from rows.
COLUMNS: dict[str, dict[str, object]] = {
    "supports": {"organisation_id": None, "company_key": None, "programme": ACCELERATOR, "edition": None,
                 "kind": "cohort", "admitted": True, "completed": False, "started_on": None,
                 "size_class": UNKNOWN_SIZE, "s3_domains": (), "founded_on": None},
    "follow_ups": {"follow_up_id": None, "organisation_id": None, "company_key": None, "programme": ACCELERATOR,
                   "edition": None, "group": PARTICIPANT, "size_class": UNKNOWN_SIZE, "s3_domains": (),
                   "baseline_turnover": math.nan, "baseline_export_turnover": math.nan,
                   "baseline_employees_fte": math.nan, "baseline_high_skill_fte": math.nan,
                   "baseline_investment_raised": math.nan},
    "surveys": {"follow_up_id": None, "wave": 12, "answered": False, "sales": math.nan, "export_sales": math.nan,
                "employees_fte": math.nan, "high_skill_fte": math.nan, "funding_raised": math.nan,
                "funding_source": None, "new_markets": math.nan, "corporate_partnerships": math.nan,
                "contracts_signed": math.nan, "contracts_value": math.nan},
    "events": {"event_id": None, "programme": MEET_THE_BUYER, "edition": None, "held": True},
    "buyers": {"event_id": None, "programme": MEET_THE_BUYER, "edition": None, "organisation_id": None,
               "company_key": None, "outside_region": False, "met": False},
    "contracts": {"programme": MEET_THE_BUYER, "edition": None, "organisation_id": None, "company_key": None,
                  "value": 0.0, "size_class": UNKNOWN_SIZE, "s3_domains": ()},
    "investments": {"organisation_id": None, "company_key": None, "programme": ACCELERATOR, "edition": None,
                    "amount": 0.0, "investment_type": "equity", "size_class": UNKNOWN_SIZE, "s3_domains": ()},
}
FLOAT_COLUMNS = {
    "follow_ups": ("baseline_turnover", "baseline_export_turnover", "baseline_employees_fte",
                   "baseline_high_skill_fte", "baseline_investment_raised"),
    "surveys": ("sales", "export_sales", "employees_fte", "high_skill_fte", "funding_raised", "new_markets",
                "corporate_partnerships", "contracts_signed", "contracts_value"),
    "contracts": ("value",),
    "investments": ("amount",),
}
BOOL_COLUMNS = {"supports": ("admitted", "completed"), "surveys": ("answered",), "events": ("held",),
                "buyers": ("outside_region", "met")}


def frame(name: str, rows: Iterable[Mapping] | pd.DataFrame = ()) -> pd.DataFrame:
    """One frame with exactly its columns: missing cells take their default (a `company_key` from
    the organisation id), numbers become floats (NaN for missing) and flags booleans."""
    spec = COLUMNS[name]
    data = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    data = data.copy()
    for column, default in spec.items():
        if column not in data.columns:
            if column == "company_key" and "organisation_id" in data.columns:
                data[column] = [f"ORG{o}" for o in data["organisation_id"]]
            elif isinstance(default, tuple):
                data[column] = [list(default) for _ in range(len(data))]
            else:
                data[column] = [default] * len(data)
    data = data[list(spec)]
    for column in FLOAT_COLUMNS.get(name, ()):
        data[column] = pd.to_numeric(data[column], errors="coerce").astype(float)
    for column in BOOL_COLUMNS.get(name, ()):
        data[column] = data[column].fillna(False).astype(bool)
    if "s3_domains" in data.columns:
        data["s3_domains"] = [list(d) if isinstance(d, list | tuple | set | frozenset) else []
                              for d in data["s3_domains"]]
    if "size_class" in data.columns:
        data["size_class"] = [s if isinstance(s, str) and s else UNKNOWN_SIZE for s in data["size_class"]]
    return data.reset_index(drop=True)


@dataclass
class Frames:
    """What the monitoring of one programme reads (see `COLUMNS` for each frame's columns).

    `contracts` holds the confirmed supply contracts of every programme (ACC-5 counts those of
    Accelerator participants); the other frames hold the programme's own rows. `editions` lists
    the programme's edition years, for the comparison of editions.
    """

    supports: pd.DataFrame = field(default_factory=lambda: frame("supports"))
    follow_ups: pd.DataFrame = field(default_factory=lambda: frame("follow_ups"))
    surveys: pd.DataFrame = field(default_factory=lambda: frame("surveys"))
    events: pd.DataFrame = field(default_factory=lambda: frame("events"))
    buyers: pd.DataFrame = field(default_factory=lambda: frame("buyers"))
    contracts: pd.DataFrame = field(default_factory=lambda: frame("contracts"))
    investments: pd.DataFrame = field(default_factory=lambda: frame("investments"))
    editions: list[int] = field(default_factory=list)


def frames(*, editions: Iterable[int] = (), **rows) -> Frames:
    """A `Frames` from lists of row dicts (or frames), e.g. `frames(supports=[{...}], surveys=[...])`."""
    unknown = set(rows) - set(COLUMNS)
    if unknown:
        raise TypeError(f"unknown frames: {sorted(unknown)}")
    return Frames(**{name: frame(name, rows.get(name, ())) for name in COLUMNS}, editions=sorted(set(editions)))


# --- enterprises ------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s.\-_/]+")


def company_key(number: str | None, country: str | None = None) -> str | None:
    """The VAT or registration number as one enterprise's key: upper case, without spaces, dots,
    dashes or slashes, and without a leading two-letter country prefix when it is the
    organisation's country or only digits follow ("IT 012.345" and "01-2345" are one company)."""
    if number is None:
        return None
    key = _SEPARATORS.sub("", str(number)).upper()
    if len(key) > 2 and key[:2].isalpha():
        rest = key[2:]
        if (country and key[:2] == country.strip().upper()) or rest.isdigit():
            key = rest
    return key or None


# --- targets ----------------------------------------------------------------------------------


def combine_targets(per_edition: Mapping[int, Mapping[str, float]], edition: int | None) -> dict[str, float]:
    """The targets of a scope: its edition's, or for every edition the sum of the editions'
    targets; a measure without any target row has none.

    A figure from surveys has no target across editions: it pools the editions whose survey
    of a wave is due, not every edition whose target would be summed."""
    if edition is not None:
        return {k: float(v) for k, v in per_edition.get(edition, {}).items()}
    collected: dict[str, list[float]] = {}
    for targets in per_edition.values():
        for measure, target in targets.items():
            collected.setdefault(measure, []).append(float(target))
    combined = {}
    for measure, values in collected.items():
        if measure in MEASURES and MEASURES[measure].survey_based:
            continue
        combined[measure] = sum(values)
    return combined


# --- computing ----------------------------------------------------------------------------------
def _round(measure: str, value: float | None) -> float | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    unit = MEASURES[measure].unit
    if unit is Unit.PERCENT:
        return round(float(value), 1)
    if unit in (Unit.EUR, Unit.FTE):
        return round(float(value), 2)
    return float(value)


@dataclass
class _Figure:
    value: float | None
    companies: int
    expected: int | None = None
    wave: int | None = None
    # For a figure adding records to survey answers: every company it rests on, which decides
    # whether the authority may see it (`companies` then counts the respondents only).
    members: frozenset = frozenset()


def _ordinal(day) -> int:
    return day.toordinal() if isinstance(day, date) else -1


def _date_minus_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


_SIZES = (*SIZE_CLASSES, UNKNOWN_SIZE)
_SIZE_CODES = {size: code for code, size in enumerate(_SIZES)}


class _Table:
    """Rows as a column name -> numpy array mapping: selecting rows of a few thousand is a few
    microseconds per column, which keeps the dozens of scopes of one dashboard cheap."""

    __slots__ = ("columns", "size")

    def __init__(self, columns: dict[str, np.ndarray], size: int):
        self.columns, self.size = columns, size

    @classmethod
    def of(cls, df: pd.DataFrame) -> _Table:
        return cls({name: df[name].to_numpy() for name in df.columns}, len(df))

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __len__(self) -> int:
        return self.size

    def where(self, mask: np.ndarray) -> _Table:
        return _Table({name: values[mask] for name, values in self.columns.items()}, int(mask.sum()))

    def first_per_company(self) -> _Table:
        """The first row of each company (rows come sorted so that the first is the one to keep)."""
        if not self.size:
            return self
        _, first = np.unique(self["company"], return_index=True)
        keep = np.zeros(self.size, dtype=bool)
        keep[first] = True
        return self.where(keep)


def _count(companies: np.ndarray) -> int:
    return len(np.unique(companies))


def _sum(values: np.ndarray) -> float:
    return float(np.nansum(values)) if len(values) else 0.0


class _Data:
    """The frames of one programme prepared once for many scopes: survey answers joined to their
    follow-ups and split by group, companies as integer codes, S3 domains as boolean masks, size
    classes as codes; then tables of numpy arrays, so that selecting a scope is cheap."""

    def __init__(self, data: Frames, programme: str):
        self.programme = programme
        self._codes: dict[str, int] = {}
        self._s3: dict[str, dict[str, np.ndarray]] = {}  # table -> S3 code -> rows of companies in it
        self.tables: dict[str, _Table] = {}

        supports = self._own(data.supports)
        supports["new_enterprise"] = np.array([
            isinstance(f, date) and isinstance(s, date) and f > _date_minus_years(s, 3)
            for f, s in zip(supports["founded_on"], supports["started_on"], strict=True)], dtype=bool)
        # Several rows of one company: the latest support tells its size (a size class can change);
        # ties are broken on every column that can differ, so the order of the rows never matters.
        supports["_started"] = supports["started_on"].map(_ordinal)
        supports = supports.sort_values(["_started", "edition", "organisation_id", "size_class"], ascending=False,
                                        kind="stable")
        self._add("supports", supports[["company_key", "edition", "kind", "admitted", "completed", "size_class",
                                        "s3_domains", "new_enterprise"]])

        follow_ups = self._own(data.follow_ups)
        surveys = data.surveys.drop(columns=[c for c in ("group", "edition") if c in data.surveys.columns])
        surveys = surveys.merge(follow_ups.drop(columns=["organisation_id"]), on="follow_up_id", how="inner")
        surveys["private"] = surveys["funding_source"].isin(PRIVATE_SOURCES).to_numpy(dtype=bool)
        # The most recent edition first: at each wave a company is represented by its latest follow-up.
        surveys = surveys.sort_values(["edition", "follow_up_id"], ascending=False, kind="stable")
        surveys = surveys.drop(columns=["funding_source"])
        is_participant = (surveys["group"] == PARTICIPANT).to_numpy(dtype=bool)
        self._add(PARTICIPANT, surveys[is_participant].drop(columns=["group"]))
        self._add(COMPARISON, surveys[~is_participant].drop(columns=["group"]))
        followed = follow_ups[(follow_ups["group"] == PARTICIPANT).to_numpy(dtype=bool)]
        self._add("followed", followed[["edition", "company_key", "size_class", "s3_domains"]])

        self._add("events", self._own(data.events)[["edition", "held"]])
        self._add("buyers", self._own(data.buyers)[["edition", "company_key", "outside_region", "met"]])
        self._add("contracts", data.contracts[["company_key"]])  # of every programme: ACC-5
        self._add("own_contracts", self._own(data.contracts)[["edition", "company_key", "value", "size_class",
                                                              "s3_domains"]])
        investments = self._own(data.investments)
        investments["private"] = ~investments["investment_type"].isin(PUBLIC_INVESTMENT_TYPES).to_numpy(dtype=bool)
        self._add("investments", investments[["edition", "company_key", "amount", "private", "size_class",
                                              "s3_domains"]])

        present = set(int(y) for y in supports["edition"].dropna())
        present.update(int(y) for y in follow_ups["edition"].dropna())
        self.present_editions = sorted(present)
        self.edition_years = sorted(present | set(data.editions))

    def _own(self, df: pd.DataFrame) -> pd.DataFrame:
        return df[(df["programme"] == self.programme).to_numpy(dtype=bool)].drop(columns=["programme"])

    def _add(self, name: str, df: pd.DataFrame) -> None:
        df = df.reset_index(drop=True)
        columns = {}
        for column in df.columns:
            values = df[column]
            if column == "company_key":
                codes = self._codes
                columns["company"] = np.array([codes.setdefault(k, len(codes)) for k in values.tolist()],
                                              dtype=np.int64)
            elif column == "s3_domains":
                masks: dict[str, np.ndarray] = {}
                for row, domains in enumerate(values.tolist()):
                    for code in domains:
                        masks.setdefault(code, np.zeros(len(df), dtype=bool))[row] = True
                self._s3[name] = masks
            elif column == "size_class":
                unknown = _SIZE_CODES[UNKNOWN_SIZE]
                columns["size"] = np.array([_SIZE_CODES.get(s, unknown) for s in values.tolist()], dtype=np.int8)
            elif column == "edition":
                columns["edition"] = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
            elif column == "kind":
                columns["kind"] = values.to_numpy(dtype=object)
            elif values.dtype == bool:
                columns[column] = values.to_numpy(dtype=bool)
            else:
                columns[column] = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        self.tables[name] = _Table(columns, len(df))

    def mask(self, name: str, scope: Scope, *, companies: bool = True) -> np.ndarray | None:
        """The rows of a table in scope (None: all of them): its edition, and for rows about
        companies their S3 domain and size class."""
        table = self.tables[name]
        mask = None
        if scope.edition is not None:
            mask = table["edition"] == scope.edition
        if companies and scope.s3_domain is not None:
            s3 = self._s3[name].get(scope.s3_domain)
            s3 = np.zeros(len(table), dtype=bool) if s3 is None else s3
            mask = s3 if mask is None else mask & s3
        if companies and scope.size_class is not None:
            code = _SIZE_CODES.get(scope.size_class, -1)
            size = table["size"] == code
            mask = size if mask is None else mask & size
        return mask

    def select(self, name: str, scope: Scope, *, companies: bool = True) -> _Table:
        mask = self.mask(name, scope, companies=companies)
        table = self.tables[name]
        return table if mask is None else table.where(mask)

    def s3_codes(self, scope: Scope) -> set[str]:
        """The S3 domains of the companies in a scope (its own S3 filter left aside)."""
        wider = Scope(scope.programme, scope.edition, None, scope.size_class)
        codes = set()
        for name in ("supports", "followed"):
            mask = self.mask(name, wider)
            for code, rows in self._s3[name].items():
                if (rows if mask is None else rows & mask).any():
                    codes.add(code)
        return codes


class _Wave:
    """The surveys of one wave in scope for one group: one follow-up per company (its most
    recent edition whose survey of that wave is due), who answered, and the answered surveys
    of those follow-ups up to and including the wave."""

    def __init__(self, surveys: _Table, wave: int):
        self.wave = wave
        waves = surveys["wave"]
        at = surveys.where(waves == wave).first_per_company()  # sorted: the latest edition first
        self.expected = len(at)
        self.answered = at.where(at["answered"])
        chosen = np.isin(surveys["follow_up_id"], at["follow_up_id"])
        self.history = surveys.where(chosen & (waves <= wave) & surveys["answered"])

    @property
    def respondents(self) -> int:
        return len(self.answered)

    def both(self, figure: str, baseline: str) -> tuple[np.ndarray, np.ndarray]:
        """The figure and its baseline of the respondents that have both."""
        now, base = self.answered[figure], self.answered[baseline]
        rows = ~(np.isnan(now) | np.isnan(base))
        return now[rows], base[rows]

    def change(self, figure: str, baseline: str, *, annual: bool) -> _Figure:
        """The change of the summed figure from the summed baseline, in percent; compounded per
        year when `annual` (the growth rate over `wave` months)."""
        now, base = self.both(figure, baseline)
        total, start = _sum(now), _sum(base)
        value = None
        if len(now) and start > 0:
            ratio = total / start
            value = (ratio ** (12 / self.wave) - 1) * 100 if annual else (ratio - 1) * 100
        return _Figure(value, len(now), self.expected, self.wave)

    def gained(self, figure: str, baseline: str, *, losses: bool) -> _Figure:
        """The summed change from the baseline (FTE); with `losses` False a fall counts as zero."""
        now, base = self.both(figure, baseline)
        diff = now - base
        if not losses:
            diff = np.clip(diff, 0, None)
        return _Figure(_sum(diff) if len(now) else None, len(now), self.expected, self.wave)

    def figure(self, value: float | None) -> _Figure:
        """A figure resting on the companies that answered this wave."""
        return _Figure(value if self.respondents else None, self.respondents, self.expected, self.wave)


def _survey_figures(data: _Data, scope: Scope, wave: int, surveys: _Table, supports: _Table) -> dict[str, _Figure]:
    """The survey-based measures of the programme (and the ERDF ones) at one wave."""
    w = _Wave(surveys, wave)
    if w.expected == 0:
        return {}
    history = w.history
    investments = data.select("investments", scope)
    private = history["funding_raised"][history["private"]]
    out = {
        "RCR01.jobs": w.gained("employees_fte", "baseline_employees_fte", losses=False),
        "RCR02.private": w.figure(_sum(private) + _sum(investments["amount"][investments["private"]])),
    }
    now, base = w.both("sales", "baseline_turnover")
    out["RCR19.companies"] = _Figure(float((now > base).sum()) if len(now) else None, len(now), w.expected, wave)
    if data.programme == ACCELERATOR:
        out["ACC-2.sales"] = w.change("sales", "baseline_turnover", annual=True)
        out["ACC-2.investment"] = w.change("funding_raised", "baseline_investment_raised", annual=True)
        out["ACC-2.exports"] = w.change("export_sales", "baseline_export_turnover", annual=True)
        markets = history["company"][history["new_markets"] > 0]
        out["ACC-3.companies"] = w.figure(float(np.isin(w.answered["company"], markets).sum()))
        funded = np.concatenate([history["company"][history["funding_raised"] > 0], investments["company"]])
        out["ACC-4.companies"] = w.figure(float(_count(funded)))
        out["ACC-4.amount"] = w.figure(_sum(history["funding_raised"]) + _sum(investments["amount"]))
        cohort = supports["company"][supports["kind"] == "cohort"]
        contracts = int(np.isin(data.tables["contracts"]["company"], cohort).sum())
        out["ACC-5.partnerships"] = w.figure(_sum(history["corporate_partnerships"]) + contracts)
        out["ACC-6.jobs"] = w.gained("high_skill_fte", "baseline_high_skill_fte", losses=True)
    else:
        out["MTB-5.turnover"] = w.change("sales", "baseline_turnover", annual=False)
        out["MTB-5.exports"] = w.change("export_sales", "baseline_export_turnover", annual=False)
        respondents = frozenset(w.answered["company"].tolist())
        for key, column in (("MTB-4.contracts", "contracts_signed"), ("MTB-4.value", "contracts_value")):
            out[key] = replace(w.figure(_sum(history[column])), members=respondents)
    return out


def _distinct(companies: np.ndarray) -> _Figure:
    n = _count(companies)
    return _Figure(float(n), n)


def _record_figures(data: _Data, scope: Scope, supports: _Table) -> dict[str, _Figure]:
    """The measures counted from records: cohorts, events, buyers, contracts, vouchers."""
    out: dict[str, _Figure] = {}
    kind, company = supports["kind"], supports["company"]
    cohort = kind == "cohort"
    out["ACC-1.admitted"] = _distinct(company[cohort & supports["admitted"]])
    out["ACC-1.completed"] = _distinct(company[cohort & supports["completed"]])
    held = int(data.select("events", scope, companies=False)["held"].sum())
    out["MTB-1.events"] = _Figure(float(held), held)
    out["MTB-2.smes"] = _distinct(company[kind == "event"])
    buyers = data.select("buyers", scope, companies=False)
    outside = buyers["outside_region"]
    out["MTB-3.targeted"] = _distinct(buyers["company"][outside])
    out["MTB-3.involved"] = _distinct(buyers["company"][outside & buyers["met"]])
    contracts = data.select("own_contracts", scope)
    with_contracts = frozenset(contracts["company"].tolist())
    out["MTB-4.contracts"] = _Figure(float(len(contracts)), len(with_contracts), members=with_contracts)
    out["MTB-4.value"] = _Figure(_sum(contracts["value"]), len(with_contracts), members=with_contracts)
    out["RCO01.total"] = _distinct(company)
    sizes = np.bincount(supports.first_per_company()["size"].astype(np.int64), minlength=len(_SIZES))
    for code, size in enumerate(SIZE_CLASSES):
        out[f"RCO01.{size}"] = _Figure(float(sizes[code]), int(sizes[code]))
    out["RCO02.companies"] = _distinct(company[kind == "voucher"])
    out["RCO04.companies"] = _distinct(company[cohort | (kind == "event")])
    out["RCO05.companies"] = _distinct(company[supports["new_enterprise"]])
    return out


class _Calculator:
    def __init__(self, data: _Data, for_authority: bool, per_edition_targets: Mapping[int, Mapping[str, float]]):
        self.data = data
        self.for_authority = for_authority
        self.per_edition_targets = per_edition_targets
        self.own = measures_of(data.programme)
        self.erdf = measures_of(data.programme, erdf=True)
        self.survey_measures = [m.key for m in self.own + self.erdf if m.survey_based]

    def value(self, key: str, figure: _Figure | None, target: float | None) -> Value:
        """A measure's value; for the authority, hidden when it rests on too few companies."""
        if figure is None:
            figure = _Figure(None, 0, 0)
        value = _round(key, figure.value)
        resting_on = max(figure.companies, len(figure.members))
        suppressed = self.for_authority and key not in NEVER_SUPPRESSED and 0 < resting_on < MIN_GROUP
        companies, expected = figure.companies, figure.expected
        if suppressed:  # the count of companies would give a hidden count away
            value, companies, expected = None, 0, None
        return Value(measure=key, value=value, companies=companies, expected=expected,
                     target=None if target is None else float(target), wave=figure.wave, suppressed=suppressed)

    def headline_figures(self, scope: Scope) -> tuple[dict[str, _Figure], _Table, _Table]:
        """Every measure of a scope, those from surveys at the latest wave with surveys due; and
        the scope's supports and participant surveys."""
        data = self.data
        supports = data.select("supports", scope)
        surveys = data.select(PARTICIPANT, scope)
        figures = _record_figures(data, scope, supports)
        wave = int(surveys["wave"].max()) if len(surveys) else None
        survey = _survey_figures(data, scope, wave, surveys, supports) if wave else {}
        for key in self.survey_measures:
            figures[key] = survey.get(key, _Figure(None, 0, 0))
        if data.programme == MEET_THE_BUYER and survey:
            # Contracts recorded plus those reported in surveys; the survey part carries the response.
            for key in ("MTB-4.contracts", "MTB-4.value"):
                part = survey[key]
                total = (figures[key].value or 0.0) + (part.value or 0.0)
                figures[key] = _Figure(total, part.companies, part.expected, part.wave,
                                       members=figures[key].members | part.members)
        return figures, supports, surveys

    def values(self, scope: Scope, figures: dict[str, _Figure], measures, *, targets: bool = True) -> list[Value]:
        scope_targets = combine_targets(self.per_edition_targets, scope.edition) if targets else {}
        return [self.value(m.key, figures.get(m.key), scope_targets.get(m.key)) for m in measures]

    def group(self, scope: Scope, key: str, label: str, *, targets: bool) -> Breakdown:
        """One group of a breakdown: the headline values of the narrower scope (with the targets
        of the group's edition; an S3 domain or a size class has none of its own)."""
        figures, supports, surveys = self.headline_figures(scope)
        followed = self.data.select("followed", scope)
        companies = _count(np.concatenate([supports["company"], surveys["company"], followed["company"]]))
        values = self.values(scope, figures, self.own, targets=targets)
        suppressed = self.for_authority and 0 < companies < MIN_GROUP
        if suppressed:
            values = [Value(measure=v.measure, value=None, companies=0, expected=None,
                            target=v.target, wave=v.wave, suppressed=True) for v in values]
            companies = 0
        return Breakdown(key=key, label=label, values=values, companies=companies, suppressed=suppressed)

    def impact(self, scope: Scope, participants: _Table) -> list[Impact]:
        """Participants against the comparison group: the change from the baseline per wave."""
        comparison = self.data.select(COMPARISON, scope)
        metrics = (("sales", "sales", "baseline_turnover"), ("exports", "export_sales", "baseline_export_turnover"),
                   ("jobs", "employees_fte", "baseline_employees_fte"))
        out = []
        for wave in WAVES:
            mine, theirs = _Wave(participants, wave), _Wave(comparison, wave)
            if not (mine.expected or theirs.expected):
                continue
            for metric, figure, baseline in metrics:
                part = mine.change(figure, baseline, annual=False)
                comp = theirs.change(figure, baseline, annual=False)
                suppressed = self.for_authority and (part.companies < MIN_GROUP or comp.companies < MIN_GROUP)
                p = None if suppressed or part.value is None else part.value
                c = None if suppressed or comp.value is None else comp.value
                out.append(Impact(metric=metric, wave=wave,
                                  participants_change=None if p is None else round(p, 1),
                                  comparison_change=None if c is None else round(c, 1),
                                  difference=None if p is None or c is None else round(p - c, 1),
                                  participants=part.companies, participants_expected=mine.expected,
                                  comparison=comp.companies, comparison_expected=theirs.expected,
                                  suppressed=suppressed))
        return out

    def response(self, scope: Scope, participants: _Table) -> list[WaveResponse]:
        comparison = self.data.select(COMPARISON, scope)
        out = []
        for wave in WAVES:
            for group, surveys in ((PARTICIPANT, participants), (COMPARISON, comparison)):
                w = _Wave(surveys, wave)
                out.append(WaveResponse(wave=wave, group=group, due=w.expected, answered=w.respondents))
        return out


def compute(data: Frames, scope: Scope, *, for_authority: bool,
            targets: Mapping[int, Mapping[str, float]] | None = None,
            s3_names: Mapping[str, str] | None = None,
            size_labels: Mapping[str, str] | None = None) -> Monitoring:
    """The monitoring of a scope from the programme's frames.

    `targets` maps an edition year to its targets (measure key -> target); `s3_names` an S3
    code to its name and `size_labels` a size class (and "unknown") to its label, in the
    reader's language. The comparison of editions covers every edition of the programme and
    the breakdowns by S3 domain and size class keep the scope's other filters.
    """
    prepared = _Data(data, scope.programme)
    calc = _Calculator(prepared, for_authority, targets or {})
    figures, supports, surveys = calc.headline_figures(scope)
    headline = calc.values(scope, figures, calc.own)
    erdf = calc.values(scope, figures, calc.erdf)

    scope_targets = combine_targets(calc.per_edition_targets, scope.edition)
    by_wave = {w: _survey_figures(prepared, scope, w, surveys, supports) for w in WAVES}
    series = {key: [calc.value(key, by_wave[w].get(key, _Figure(None, 0, 0, w)), scope_targets.get(key))
                    for w in WAVES] for key in calc.survey_measures}

    by_edition = [calc.group(Scope(scope.programme, year, scope.s3_domain, scope.size_class), str(year), str(year),
                             targets=True) for year in prepared.edition_years]
    names = dict(s3_names or {})
    codes = sorted(prepared.s3_codes(scope), key=lambda c: (str(names.get(c, c)).lower(), c))
    by_s3 = [calc.group(Scope(scope.programme, scope.edition, code, scope.size_class), code, names.get(code, code),
                        targets=False) for code in codes]
    labels = dict(size_labels or {})
    by_size = [calc.group(Scope(scope.programme, scope.edition, scope.s3_domain, size), size, labels.get(size, size),
                          targets=False) for size in _SIZES]

    return Monitoring(scope=scope, for_authority=for_authority, headline=headline, erdf=erdf, series=series,
                      by_edition=by_edition, by_s3=by_s3, by_size=by_size, impact=calc.impact(scope, surveys),
                      response=calc.response(scope, surveys), editions=prepared.present_editions)

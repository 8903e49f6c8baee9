"""The de minimis ceiling (Regulation (EU) 2023/2831), as arithmetic over plain data.

**Single undertaking** (Article 2(2)): an organisation with the enterprises linked to it by more
than 50% of the voting rights, in either direction (it holds more than half of them, or they
hold more than half of it). Here the links are the organisation's related enterprises
(`OwnershipLink` rows with a share above 50%), matched to organisations registered in opsapp by
VAT or registration number, in both directions: our link naming them, or their link naming us.
One level is enough: the enterprises linked to a linked enterprise are not followed (a chain
A > B > C is rare among the SMEs of a regional programme, and staff see every link on the
aid history page). Linked enterprises not registered here are listed, without aid we know of.

**Rolling period**: the aid counted for a grant on day `on` is the aid granted in the `years`
years ending on that day, both ends included: the days after `on` minus `years` years, up to
and including `on`. With three years and a grant on 23 November 2026 the window runs from
24 November 2023 to 23 November 2026; aid granted on 23 November 2023, exactly three years
before, is out. (29 February minus a year is 28 February.)

**What counts**: a voucher granted here counts its paid amount once paid, its approved amount
once approved, else the amount granted; lapsed and cancelled vouchers count nothing. Aid
declared from other grantors counts its amount.

**Verdict**: refused when the aid counted plus the new grant passes the ceiling (exactly at the
ceiling is allowed); a warning when the headroom left after the grant is under
`warning_percent` of the ceiling. Amounts are `Decimal` with two places, never floats.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
LINK_THRESHOLD = Decimal("50")  # more than 50% of the voting rights

VOUCHER = "voucher"
DECLARED = "declared"

_SEPARATORS = re.compile(r"[\s.\-/]")


def money(value) -> Decimal:
    if value is None:
        return ZERO
    if isinstance(value, float):
        raise TypeError("amounts must not be floats")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


# --- the single undertaking --------------------------------------------------------------------------


@dataclass(frozen=True)
class Company:
    """An organisation registered here: its id, VAT or registration number, name."""

    id: int
    vat_number: str | None
    name: str = ""


@dataclass(frozen=True)
class Link:
    """A related enterprise declared by organisation `organisation_id` (an `OwnershipLink`)."""

    organisation_id: int
    enterprise_vat: str | None
    share_percent: Decimal
    direction: str = "holds"  # "holds" the organisation, or "held" by it
    enterprise_name: str = ""


@dataclass(frozen=True)
class Linked:
    """An enterprise of the single undertaking other than the organisation itself."""

    name: str
    vat_number: str | None
    share_percent: Decimal
    direction: str  # as seen from the organisation: "holds" it, or "held" by it
    organisation_id: int | None  # None when not registered here


@dataclass(frozen=True)
class Undertaking:
    organisation_id: int
    linked: tuple[Linked, ...] = ()

    @property
    def organisation_ids(self) -> frozenset[int]:
        """The organisations registered here whose aid counts: the organisation and its linked ones."""
        return frozenset({self.organisation_id} | {x.organisation_id for x in self.linked
                                                   if x.organisation_id is not None})

    @property
    def unregistered(self) -> tuple[Linked, ...]:
        return tuple(x for x in self.linked if x.organisation_id is None)


def vat_key(value: str | None) -> str:
    """A VAT or registration number without separators, upper case."""
    return _SEPARATORS.sub("", value or "").upper()


def same_vat(a: str | None, b: str | None) -> bool:
    """Whether two numbers name the same enterprise, with or without the country prefix
    ("IT00743110157" and "00743110157")."""
    a, b = vat_key(a), vat_key(b)
    if not a or not b:
        return False
    if a == b:
        return True

    def bare(v: str) -> str:
        return v[2:] if len(v) > 2 and v[:2].isalpha() and not v[2:].isalpha() else v

    return bare(a) == bare(b)


def is_linking(share_percent) -> bool:
    return Decimal(share_percent) > LINK_THRESHOLD


def single_undertaking(organisation: Company, companies: Iterable[Company], links: Iterable[Link]) -> Undertaking:
    """The organisation and the enterprises linked to it (one level, both directions).

    `companies`: the organisations registered here (at least those a link may name);
    `links`: the related enterprises declared by the organisation and by the others."""
    companies = [c for c in companies if c.id != organisation.id]
    found: dict[object, Linked] = {}
    for link in links:
        if not is_linking(link.share_percent):
            continue
        if link.organisation_id == organisation.id:
            # Our declaration names the other enterprise.
            other = next((c for c in companies if same_vat(c.vat_number, link.enterprise_vat)), None)
            key = other.id if other else ("vat", vat_key(link.enterprise_vat) or link.enterprise_name)
            if key not in found:
                found[key] = Linked(other.name if other else link.enterprise_name,
                                    other.vat_number if other else link.enterprise_vat,
                                    Decimal(link.share_percent), link.direction, other.id if other else None)
        elif same_vat(link.enterprise_vat, organisation.vat_number):
            # Another organisation's declaration names us: seen from us the direction turns round.
            other = next((c for c in companies if c.id == link.organisation_id), None)
            if other is not None and other.id not in found:
                direction = "held" if link.direction == "holds" else "holds"
                found[other.id] = Linked(other.name, other.vat_number, Decimal(link.share_percent), direction,
                                         other.id)
    return Undertaking(organisation.id, tuple(sorted(found.values(), key=lambda x: (x.name.casefold(), x.name))))


# --- aid and the rolling period ------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    """A voucher granted here."""

    id: int
    organisation_id: int
    granted_on: date
    status: str
    amount: Decimal
    approved_amount: Decimal | None = None
    paid_amount: Decimal | None = None
    label: str = ""


@dataclass(frozen=True)
class DeclaredAid:
    """Aid from another grantor, as the company declared it."""

    id: int
    organisation_id: int
    granted_on: date
    amount: Decimal
    grantor: str = ""


def counted(status: str, amount, approved_amount=None, paid_amount=None) -> Decimal:
    """The aid a voucher counts for: paid amount if paid, approved amount if approved, else the
    amount granted; lapsed and cancelled vouchers count nothing."""
    if status in ("lapsed", "cancelled"):
        return ZERO
    if status == "paid":
        for value in (paid_amount, approved_amount, amount):
            if value is not None:
                return money(value)
    if status == "approved" and approved_amount is not None:
        return money(approved_amount)
    return money(amount)


@dataclass(frozen=True)
class Item:
    """One aid counted in a position."""

    kind: str  # VOUCHER or DECLARED
    id: int
    organisation_id: int
    granted_on: date
    amount: Decimal  # as counted
    label: str = ""
    status: str | None = None


def years_before(on: date, years: int) -> date:
    """The same day `years` years earlier (29 February becomes 28 February)."""
    try:
        return on.replace(year=on.year - years)
    except ValueError:
        return on.replace(year=on.year - years, day=28)


def window(on: date, years: int) -> tuple[date, date]:
    """The first and the last day counted for a grant on `on`, both included."""
    if years < 1:
        raise ValueError("the period is at least one year")
    return years_before(on, years) + timedelta(days=1), on


@dataclass(frozen=True)
class Position:
    total: Decimal
    window_start: date  # first day counted
    window_end: date  # last day counted (the grant date)
    headroom: Decimal  # what is left under the ceiling (never below zero)
    items: tuple[Item, ...] = field(default_factory=tuple)
    ceiling: Decimal = ZERO
    years: int = 3

    @property
    def over(self) -> bool:
        return self.total > self.ceiling


def _items(grants: Iterable[Grant], declared: Iterable[DeclaredAid]) -> list[Item]:
    items = [Item(VOUCHER, g.id, g.organisation_id, g.granted_on,
                  counted(g.status, g.amount, g.approved_amount, g.paid_amount), g.label, g.status) for g in grants]
    items += [Item(DECLARED, d.id, d.organisation_id, d.granted_on, money(d.amount), d.grantor) for d in declared]
    return items


def _position(items: list[Item], on: date, ceiling: Decimal, years: int) -> Position:
    start, end = window(on, years)
    inside = sorted((i for i in items if start <= i.granted_on <= end),
                    key=lambda i: (i.granted_on, i.kind, i.id))
    total = sum((i.amount for i in inside), ZERO)
    return Position(total, start, end, max(ceiling - total, ZERO), tuple(inside), ceiling, years)


def position(grants: Iterable[Grant], declared: Iterable[DeclaredAid], on: date, ceiling, years: int) -> Position:
    """The aid of the single undertaking (the grants and declared aid given, of all its
    organisations) counted in the `years` years ending on `on`."""
    return _position(_items(grants, declared), on, money(ceiling), years)


def binding_position(grants: Iterable[Grant], declared: Iterable[DeclaredAid], on: date, ceiling,
                     years: int) -> Position:
    """The position that decides a grant dated `on`: the fullest of the periods that contain it.

    Usually the period ending on `on`; when aid dated after `on` exists (a grant dated in the
    past), the periods ending on those later dates contain the new grant too, and the fullest
    of them is the one to respect."""
    items = _items(grants, declared)
    ceiling = money(ceiling)
    ends = {on} | {i.granted_on for i in items if i.granted_on > on and window(i.granted_on, years)[0] <= on}
    best = None
    for end in sorted(ends):
        p = _position(items, end, ceiling, years)
        if best is None or p.total > best.total:
            best = p
    return best


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    warning: bool
    total_before: Decimal  # aid counted in the period before this grant
    amount: Decimal  # this grant
    total_after: Decimal
    ceiling: Decimal
    headroom_before: Decimal
    headroom_after: Decimal  # negative when refused: by how much the ceiling would be passed
    window_start: date
    window_end: date
    years: int
    warning_percent: int

    @property
    def over_by(self) -> Decimal:
        return max(self.total_after - self.ceiling, ZERO)

    def figures(self) -> dict:
        """The figures for the audit log (plain strings)."""
        return {"total_before": str(self.total_before), "amount": str(self.amount),
                "total_after": str(self.total_after), "ceiling": str(self.ceiling),
                "headroom_after": str(self.headroom_after), "window_start": self.window_start.isoformat(),
                "window_end": self.window_end.isoformat(), "years": self.years, "warning": self.warning}


def check(position: Position, amount, warning_percent: int) -> Verdict:
    """Whether a grant of `amount` fits under the ceiling of the position."""
    amount = money(amount)
    after = position.total + amount
    headroom_after = position.ceiling - after
    allowed = after <= position.ceiling
    threshold = position.ceiling * Decimal(int(warning_percent)) / Decimal(100)
    warning = allowed and headroom_after < threshold
    return Verdict(allowed, warning, position.total, amount, after, position.ceiling, position.headroom,
                   headroom_after, position.window_start, position.window_end, position.years, int(warning_percent))

"""Granting vouchers under the budget and the de minimis ceiling; cancelling and lapsing them;
the aid companies declared from other grantors; the per-company aid history.

Use cases (each checks the rights again, flushes and never commits; refusals raise
`VoucherError`, several at once `Refused` with each problem next to its field):

- `grant(actor, scheme_id, data)`: staff grant a voucher to an SME (start-up or SME), for an
  event of the scheme's edition (outside the region when the scheme asks for it) or for
  services described in a purpose. Under the scheme's row lock and the row locks of the
  organisations of the single undertaking (PostgreSQL; SQLite lets one writer in at a time),
  it checks the maximum per SME, the budget left and the de minimis ceiling, then commits the
  amount on the budget at once. A grant leaving little headroom under the ceiling needs a
  confirmation (`GrantNeedsConfirmation`). Audited with the de minimis and budget figures;
  the SME's members are told.
- `cancel(actor, voucher_id, reason)`: staff cancel a granted or claimed voucher; the amount
  returns to the budget; the SME is told.
- `lapse_due(now)`: the daily job; every voucher still granted after its `valid_until` day
  (Europe/Rome) lapses, its amount returns to the budget, the SME is told. A rerun lapses nothing.
- `declare_aid`, `delete_declared_aid`: aid from other grantors, declared by the company's
  members (or staff), in an application or on the organisation's page.
- `aid_history(actor, organisation_id)`: the vouchers, the declared aid, the single
  undertaking and the de minimis position today.
- Pages: `voucher_for_view`, `voucher_list`, `voucher_export`, `timeline`.

Vouchers and declared aid are de minimis records: kept ten years (an erasure handler keeps
them, then removes the person's name from them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from flask import abort
from flask_babel import format_date, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import joinedload, selectinload

from opsapp.accounts.models import Membership, Organisation, OrganisationKind, OwnershipLink, User
from opsapp.calls.models import Application
from opsapp.core import audit, privacy
from opsapp.core.money import format_money
from opsapp.core.notifications import notify
from opsapp.core.pagination import Page, paginate
from opsapp.core.roles import PROGRAMME_STAFF
from opsapp.core.timeline import TimelineEntry, audit_rows
from opsapp.core.timeutil import to_local, utcnow
from opsapp.events.models import Event, Participant, ParticipantStatus, Side
from opsapp.extensions import db
from opsapp.vouchers import budget, deminimis, schemes, states
from opsapp.vouchers.models import (
    DEMINIMIS_CEILING,
    DEMINIMIS_YEARS,
    DeclaredAid,
    ExpenseLine,
    Voucher,
    VoucherScheme,
    VoucherStatus,
)
from opsapp.vouchers.pages import VoucherError, path_for

V = VoucherStatus
SME_KINDS = (OrganisationKind.STARTUP.value, OrganisationKind.SME.value)
LIVE = (V.GRANTED.value, V.CLAIMED.value, V.APPROVED.value, V.PAID.value)
MONEY_MAX = Decimal("999999999.99")
PURPOSE_MAX = 500
REASON_MAX = 1000
GRANTOR_MAX = 200
DESCRIPTION_MAX = 2000
RETENTION_YEARS = 10  # de minimis records: Regulation (EU) 2023/2831, Article 6(4)


class Refused(VoucherError):
    """Refused for one or more problems: `problems` is a list of (field, message)."""

    def __init__(self, problems: Sequence[tuple[str | None, str]]):
        self.problems = list(problems)
        field_name, message = self.problems[0]
        super().__init__(message, field=field_name)


class GrantNeedsConfirmation(VoucherError):
    """The grant fits, but leaves little headroom under the ceiling: staff confirm it knowingly."""

    def __init__(self, message: str, verdict: deminimis.Verdict):
        self.verdict = verdict
        super().__init__(message, field="confirm")


# --- small helpers -------------------------------------------------------------------------------


def today() -> date:
    """Today in the programme's zone (Europe/Rome)."""
    return to_local(utcnow()).date()


def _locale() -> str:
    return str(get_locale() or "en")


def money_text(amount) -> str:
    return format_money(amount, _locale())


def _day(value: date) -> str:
    return format_date(value, "long")


def is_staff(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.has_role(*PROGRAMME_STAFF))


def _require_staff(actor) -> None:
    if not is_staff(actor):
        abort(403)


def is_member(user, organisation_id: int) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return db.session.scalar(select(Membership.id).where(
        Membership.user_id == user.id, Membership.organisation_id == organisation_id)) is not None


def _members(organisation_id: int) -> list[User]:
    return list(db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == organisation_id, User.disabled_at.is_(None),
               User.erased_at.is_(None)).order_by(User.id)))


def _postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


_PERIOD_WORDS = {1: _l("year"), 2: _l("two years"), 3: _l("three years"), 4: _l("four years"),
                 5: _l("five years"), 6: _l("six years"), 7: _l("seven years"), 8: _l("eight years"),
                 9: _l("nine years"), 10: _l("ten years")}


def period_words(years: int) -> str:
    return str(_PERIOD_WORDS.get(years) or ngettext("%(num)d year", "%(num)d years", years))


# --- the single undertaking and the de minimis position --------------------------------------------------


def _vat_variants(vat: str | None) -> list[str]:
    key = deminimis.vat_key(vat)
    if not key:
        return []
    variants = {key}
    if len(key) > 2 and key[:2].isalpha() and not key[2:].isalpha():
        variants.add(key[2:])
    return sorted(variants)


def undertaking_of(organisation: Organisation) -> deminimis.Undertaking:
    """The organisation with the enterprises linked to it (more than 50%, both directions, one level)."""
    ours = list(db.session.scalars(select(OwnershipLink).where(OwnershipLink.organisation_id == organisation.id)))
    naming_us = list(db.session.scalars(select(OwnershipLink).where(
        OwnershipLink.organisation_id != organisation.id,
        OwnershipLink.enterprise_vat.in_(_vat_variants(organisation.vat_number) or [""]))))
    links = [link for link in ours + naming_us if deminimis.is_linking(link.share_percent)]
    named = sorted({deminimis.vat_key(link.enterprise_vat) for link in ours if link.enterprise_vat})
    conditions = []
    if named:
        conditions += [Organisation.vat_number.in_(named), func.substr(Organisation.vat_number, 3).in_(named)]
    others = {link.organisation_id for link in naming_us}
    if others:
        conditions.append(Organisation.id.in_(others))
    companies = []
    if conditions:
        companies = [deminimis.Company(o.id, o.vat_number, o.legal_name) for o in db.session.scalars(
            select(Organisation).where(or_(*conditions), Organisation.id != organisation.id))]
    return deminimis.single_undertaking(
        deminimis.Company(organisation.id, organisation.vat_number, organisation.legal_name), companies,
        [deminimis.Link(link.organisation_id, link.enterprise_vat, link.share_percent, link.direction,
                        link.enterprise_name) for link in links])


def _aid_rows(organisation_ids) -> tuple[list[deminimis.Grant], list[deminimis.DeclaredAid]]:
    ids = sorted(organisation_ids)
    grants = [deminimis.Grant(row.id, row.organisation_id, row.granted_on, row.status, row.amount,
                              row.approved_amount, row.paid_amount, row.name)
              for row in db.session.execute(
                  select(Voucher.id, Voucher.organisation_id, Voucher.granted_on, Voucher.status, Voucher.amount,
                         Voucher.approved_amount, Voucher.paid_amount, VoucherScheme.name)
                  .join(VoucherScheme, VoucherScheme.id == Voucher.scheme_id)
                  .where(Voucher.organisation_id.in_(ids)))]
    declared = [deminimis.DeclaredAid(row.id, row.organisation_id, row.granted_on, row.amount, row.grantor)
                for row in db.session.execute(
                    select(DeclaredAid.id, DeclaredAid.organisation_id, DeclaredAid.granted_on, DeclaredAid.amount,
                           DeclaredAid.grantor).where(DeclaredAid.organisation_id.in_(ids)))]
    return grants, declared


def position_of(organisation: Organisation, on: date, ceiling=DEMINIMIS_CEILING,
                years: int = DEMINIMIS_YEARS) -> tuple[deminimis.Undertaking, deminimis.Position]:
    undertaking = undertaking_of(organisation)
    grants, declared = _aid_rows(undertaking.organisation_ids)
    return undertaking, deminimis.position(grants, declared, on, ceiling, years)


def position_message(position: deminimis.Position) -> str:
    return _("%(total)s of aid in the %(period)s to %(date)s; %(headroom)s left under the ceiling of %(ceiling)s.",
             total=money_text(position.total), period=period_words(position.years),
             date=_day(position.window_end), headroom=money_text(position.headroom),
             ceiling=money_text(position.ceiling))


def verdict_message(verdict: deminimis.Verdict) -> str:
    figures = {"total": money_text(verdict.total_before), "period": period_words(verdict.years),
               "date": _day(verdict.window_end), "amount": money_text(verdict.amount),
               "after": money_text(verdict.total_after), "ceiling": money_text(verdict.ceiling)}
    if not verdict.allowed:
        return _("%(total)s of aid in the %(period)s to %(date)s; this grant of %(amount)s would bring it to "
                 "%(after)s, over the ceiling of %(ceiling)s.", **figures) + " " + _(
            "At most %(headroom)s can still be granted under de minimis.",
            headroom=money_text(max(verdict.headroom_before, deminimis.ZERO)))
    return _("%(total)s of aid in the %(period)s to %(date)s; this grant of %(amount)s would bring it to "
             "%(after)s, leaving %(left)s under the ceiling of %(ceiling)s.",
             left=money_text(verdict.headroom_after), **figures)


# --- the grant form's choices -------------------------------------------------------------------------


def staff_scheme(actor, scheme_id: int) -> VoucherScheme:
    _require_staff(actor)
    scheme = db.session.scalar(select(VoucherScheme).where(VoucherScheme.id == scheme_id)
                               .options(joinedload(VoucherScheme.edition), selectinload(VoucherScheme.cost_categories)))
    if scheme is None:
        abort(404)
    return scheme


def scheme_events(scheme: VoucherScheme) -> list[Event]:
    """The events of the scheme's edition, those qualifying first."""
    events = list(db.session.scalars(select(Event).where(Event.edition_id == scheme.edition_id)
                                     .order_by(Event.name, Event.id)))
    return sorted(events, key=lambda e: (scheme.outside_region_only and not e.outside_region, e.name.casefold()))


def event_qualifies(scheme: VoucherScheme, event: Event) -> bool:
    return not scheme.outside_region_only or bool(event.outside_region)


def candidate_organisations(scheme: VoucherScheme) -> tuple[list[Organisation], list[Organisation]]:
    """(the SMEs taking part in events of the scheme's edition, the other start-ups and SMEs)."""
    smes = list(db.session.scalars(select(Organisation).where(
        Organisation.kind.in_(SME_KINDS), Organisation.anonymised_at.is_(None))
        .order_by(Organisation.legal_name, Organisation.id)))
    participating = set(db.session.scalars(
        select(Participant.organisation_id).join(Event, Event.id == Participant.event_id)
        .where(Event.edition_id == scheme.edition_id, Participant.side == Side.SME.value,
               Participant.status != ParticipantStatus.WITHDRAWN.value)))
    return [o for o in smes if o.id in participating], [o for o in smes if o.id not in participating]


def grantable_organisation(organisation_id) -> Organisation | None:
    if not organisation_id:
        return None
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None or organisation.anonymised_at is not None or organisation.kind not in SME_KINDS:
        return None
    return organisation


def held_in_scheme(scheme_id: int, organisation_id: int) -> Decimal:
    """What the organisation's live vouchers of the scheme hold on its budget."""
    rows = db.session.execute(select(Voucher.status, Voucher.amount, Voucher.approved_amount, Voucher.paid_amount)
                              .where(Voucher.scheme_id == scheme_id, Voucher.organisation_id == organisation_id,
                                     Voucher.status.in_(LIVE)))
    return sum((budget.held(*row) for row in rows), budget.ZERO)


# --- granting ---------------------------------------------------------------------------------------------


@dataclass
class GrantData:
    organisation_id: int | None
    amount: Decimal | None
    granted_on: date | None
    valid_until: date | None = None
    event_id: int | None = None
    purpose: str = ""
    confirmed: bool = False


def _lock_scheme(scheme_id: int) -> VoucherScheme:
    """The scheme, re-read under its row lock (PostgreSQL): one grant at a time per budget."""
    stmt = select(VoucherScheme).where(VoucherScheme.id == scheme_id).execution_options(populate_existing=True)
    if _postgres():
        stmt = stmt.with_for_update()
    scheme = db.session.scalar(stmt)
    if scheme is None:
        abort(404)
    return scheme


def _lock_organisations(ids) -> None:
    """Row locks on the organisations of the single undertaking, in id order (PostgreSQL)."""
    if _postgres():
        db.session.execute(select(Organisation.id).where(Organisation.id.in_(sorted(ids)))
                           .order_by(Organisation.id).with_for_update())


def _amount_problem(amount: Decimal | None) -> str | None:
    if amount is None:
        return _("Enter the amount in EUR, for example 2500.00.")
    if amount <= 0:
        return _("The amount must be more than zero.")
    if amount != amount.quantize(deminimis.CENT):
        return _("Use at most two decimals (cents).")
    if amount > MONEY_MAX:
        return _("This amount is too large: check it.")
    return None


def _basic_problems(scheme: VoucherScheme, data: GrantData) -> tuple[list, Organisation | None, Event | None]:
    problems: list[tuple[str, str]] = []
    organisation = grantable_organisation(data.organisation_id)
    if organisation is None:
        problems.append(("organisation_id", _("Choose the start-up or SME receiving the voucher.")))
    event = None
    if data.event_id:
        event = db.session.get(Event, data.event_id)
        if event is None or event.edition_id != scheme.edition_id:
            problems.append(("event_id", _("Choose an event of the scheme's edition, or none for services.")))
            event = None
        elif not event_qualifies(scheme, event):
            problems.append(("event_id", _("%(event)s is not outside the region: this scheme pays only for events "
                                           "outside the region.", event=event.name)))
    purpose = (data.purpose or "").strip()
    if event is None and not data.event_id and not purpose:
        problems.append(("purpose", _("Choose the event, or describe the services the voucher pays for.")))
    if len(purpose) > PURPOSE_MAX:
        problems.append(("purpose", _("Write at most %(max)d characters.", max=PURPOSE_MAX)))
    message = _amount_problem(data.amount)
    if message:
        problems.append(("amount", message))
    if data.granted_on is None:
        problems.append(("granted_on", _("Enter the grant date.")))
    elif not scheme.valid_from <= data.granted_on <= scheme.valid_until:
        problems.append(("granted_on", _("The grant date must be within the scheme's validity, from %(start)s to "
                                         "%(end)s.", start=_day(scheme.valid_from), end=_day(scheme.valid_until))))
    valid_until = data.valid_until or scheme.valid_until
    if valid_until > scheme.valid_until:
        problems.append(("valid_until", _("The voucher cannot be valid after the scheme (%(end)s).",
                                          end=_day(scheme.valid_until))))
    elif data.granted_on is not None and valid_until < data.granted_on:
        problems.append(("valid_until", _("The voucher must be valid at least until its grant date.")))
    return problems, organisation, event


@dataclass
class GrantCheck:
    """What the checks found, for the audit log and the page."""

    verdict: deminimis.Verdict
    summary: budget.BudgetSummary
    undertaking: deminimis.Undertaking
    held_before: Decimal


def _ceiling_problems(scheme: VoucherScheme, organisation: Organisation, data: GrantData) -> tuple[list, GrantCheck]:
    """The maximum per SME, the budget and the de minimis ceiling; called under the locks."""
    problems: list[tuple[str, str]] = []
    amount = data.amount
    held = held_in_scheme(scheme.id, organisation.id)
    if held + amount > scheme.max_per_sme:
        left = max(scheme.max_per_sme - held, budget.ZERO)
        problems.append(("amount", _(
            "%(organisation)s already holds %(held)s in vouchers of this scheme; with this one it would hold "
            "%(after)s, more than the maximum of %(max)s per SME. At most %(left)s can still be granted to it.",
            organisation=organisation.legal_name, held=money_text(held), after=money_text(held + amount),
            max=money_text(scheme.max_per_sme), left=money_text(left))))
    summary = schemes.summary(scheme)
    if not budget.can_commit(summary, amount):
        problems.append(("amount", _(
            "The scheme has %(available)s left of its budget of %(budget)s (%(committed)s committed): a voucher "
            "of %(amount)s does not fit.", available=money_text(max(summary.available, budget.ZERO)),
            budget=money_text(summary.budget), committed=money_text(summary.committed), amount=money_text(amount))))
    undertaking = undertaking_of(organisation)
    grants, declared = _aid_rows(undertaking.organisation_ids)
    position = deminimis.binding_position(grants, declared, data.granted_on, scheme.deminimis_ceiling,
                                          scheme.deminimis_years)
    verdict = deminimis.check(position, amount, scheme.warning_percent)
    if not verdict.allowed:
        problems.append(("amount", _("Over the de minimis ceiling: %(figures)s", figures=verdict_message(verdict))))
    return problems, GrantCheck(verdict, summary, undertaking, held)


def field_problems(actor, scheme_id: int, data: GrantData) -> list[tuple[str, str]]:
    """The problems of the fields alone (nothing locked or changed): shown together with the
    form's own errors, so that every field's problem appears at once."""
    _require_staff(actor)
    problems, _organisation, _event = _basic_problems(staff_scheme(actor, scheme_id), data)
    return problems


def grant(actor, scheme_id: int, data: GrantData) -> Voucher:
    """Grant a voucher; the budget is committed at once. See the module's description."""
    _require_staff(actor)
    scheme = _lock_scheme(scheme_id)
    problems, organisation, event = _basic_problems(scheme, data)
    if problems:
        raise Refused(problems)
    # Two grants to one single undertaking (also through different schemes) wait for each other.
    _lock_organisations(undertaking_of(organisation).organisation_ids)
    problems, found = _ceiling_problems(scheme, organisation, data)
    if problems:
        raise Refused(problems)
    verdict = found.verdict
    if verdict.warning and not data.confirmed:
        raise GrantNeedsConfirmation(_("Little headroom under the de minimis ceiling: %(figures)s Confirm to grant "
                                       "the voucher anyway.", figures=verdict_message(verdict)), verdict)
    voucher = Voucher(scheme_id=scheme.id, organisation_id=organisation.id, event_id=event.id if event else None,
                      purpose=(data.purpose or "").strip() or None, amount=data.amount, granted_on=data.granted_on,
                      valid_until=data.valid_until or scheme.valid_until, status=V.GRANTED.value,
                      granted_at=utcnow(), granted_by_id=actor.id)
    db.session.add(voucher)
    db.session.flush()
    after = budget.with_grant(found.summary, data.amount)
    audit.record("vouchers.granted", voucher, actor=actor, amount=data.amount, scheme_id=scheme.id,
                 organisation_id=organisation.id, event_id=voucher.event_id, granted_on=data.granted_on,
                 valid_until=voucher.valid_until, deminimis=verdict.figures(),
                 single_undertaking=sorted(found.undertaking.organisation_ids), warning_confirmed=verdict.warning,
                 budget={"budget": str(found.summary.budget), "committed_before": str(found.summary.committed),
                         "available_before": str(found.summary.available), "available_after": str(after.available)},
                 held_in_scheme_before=found.held_before)
    link = path_for("vouchers.voucher_detail", voucher_id=voucher.id)
    for user in _members(organisation.id):
        notify(user, _l("A voucher was granted to %(organisation)s", organisation=organisation.legal_name),
               "voucher_granted", link=link, voucher=voucher, organisation=organisation.legal_name,
               scheme=scheme.name, event=event.name if event else None)
    return voucher


def preview(actor, scheme: VoucherScheme, organisation: Organisation) -> tuple[deminimis.Position, Decimal]:
    """The organisation's de minimis position today under the scheme's ceiling, and what its
    vouchers of the scheme hold: shown on the grant form before anything is typed."""
    _require_staff(actor)
    undertaking = undertaking_of(organisation)
    grants, declared = _aid_rows(undertaking.organisation_ids)
    position = deminimis.position(grants, declared, today(), scheme.deminimis_ceiling, scheme.deminimis_years)
    return position, held_in_scheme(scheme.id, organisation.id)


# --- a voucher: its page, cancelling, lapsing ---------------------------------------------------------------


def _voucher_query(voucher_id: int):
    return (select(Voucher).where(Voucher.id == voucher_id)
            .options(joinedload(Voucher.scheme).selectinload(VoucherScheme.cost_categories),
                     joinedload(Voucher.organisation), joinedload(Voucher.event),
                     selectinload(Voucher.lines).joinedload(ExpenseLine.category),
                     selectinload(Voucher.lines).joinedload(ExpenseLine.receipt)))


def voucher_for_view(actor, voucher_id: int) -> Voucher:
    """The voucher for staff and the members of its organisation; anyone else gets 404."""
    voucher = db.session.scalar(_voucher_query(voucher_id))
    if voucher is None or not (is_staff(actor) or is_member(actor, voucher.organisation_id)):
        abort(404)
    return voucher


def may_cancel(actor, voucher: Voucher) -> bool:
    return is_staff(actor) and states.allowed(voucher.status, V.CANCELLED)


def _lock_voucher(voucher_id: int) -> Voucher:
    stmt = select(Voucher).where(Voucher.id == voucher_id).execution_options(populate_existing=True)
    if _postgres():
        stmt = stmt.with_for_update()
    voucher = db.session.scalar(stmt)
    if voucher is None:
        abort(404)
    return voucher


def cancel(actor, voucher_id: int, reason: str) -> Voucher:
    """Staff cancel a granted or claimed voucher: its amount returns to the budget."""
    _require_staff(actor)
    voucher = _lock_voucher(voucher_id)
    reason = (reason or "").strip()
    if not states.allowed(voucher.status, V.CANCELLED):
        raise VoucherError(_("This voucher is %(status)s: it can no longer be cancelled.",
                             status=voucher.status_enum.label.lower()))
    if not reason:
        raise VoucherError(_("Give the reason for cancelling: the company reads it."), field="reason")
    if len(reason) > REASON_MAX:
        raise VoucherError(_("Write at most %(max)d characters.", max=REASON_MAX), field="reason")
    returned = budget.held(voucher.status, voucher.amount, voucher.approved_amount, voucher.paid_amount)
    states.transition(voucher, V.CANCELLED, actor=actor, reason=reason, amount_returned=str(returned))
    voucher.closed_at = utcnow()
    voucher.close_reason = reason
    db.session.flush()
    organisation = voucher.organisation
    link = path_for("vouchers.voucher_detail", voucher_id=voucher.id)
    for user in _members(voucher.organisation_id):
        notify(user, _l("Voucher %(id)d of %(organisation)s was cancelled", id=voucher.id,
                        organisation=organisation.legal_name),
               "voucher_cancelled", link=link, voucher=voucher, organisation=organisation.legal_name,
               reason=reason)
    return voucher


def lapse_due(now: datetime) -> int:
    """Every voucher still granted (not claimed) after its `valid_until` day lapses; returns how many."""
    day = to_local(now).date()
    stmt = (select(Voucher).where(Voucher.status == V.GRANTED.value, Voucher.valid_until < day)
            .options(joinedload(Voucher.organisation)).order_by(Voucher.id))
    if _postgres():
        stmt = stmt.with_for_update(of=Voucher)
    lapsed = 0
    for voucher in db.session.scalars(stmt).unique():
        states.transition(voucher, V.LAPSED, actor=None, valid_until=voucher.valid_until,
                          amount_returned=str(voucher.amount))
        voucher.closed_at = now
        db.session.flush()
        link = path_for("vouchers.voucher_detail", voucher_id=voucher.id)
        for user in _members(voucher.organisation_id):
            notify(user, _l("Voucher %(id)d of %(organisation)s lapsed", id=voucher.id,
                            organisation=voucher.organisation.legal_name),
                   "voucher_lapsed", link=link, voucher=voucher, organisation=voucher.organisation.legal_name)
        lapsed += 1
    return lapsed


_TIMELINE = {
    "vouchers.granted": _l("Voucher granted"),
    "voucher.claim_line_added": _l("Expense added to the claim"),
    "voucher.claim_line_deleted": _l("Expense deleted from the claim"),
    "voucher.claim_submitted": _l("Claim submitted"),
    "voucher.claim_reviewed": _l("Claim reviewed"),
    "voucher.paid": _l("Payment recorded"),
    "vouchers.status_changed": None,  # only lapsing and cancelling: the other changes have their own entry
}


def timeline(voucher: Voucher) -> list[TimelineEntry]:
    entries = []
    for entry, name in audit_rows(Voucher.__tablename__, voucher.id, actions=list(_TIMELINE)):
        detail = entry.detail or {}
        subject = None
        if entry.action == "vouchers.status_changed":
            new = detail.get("new")
            if new == V.CANCELLED.value:
                label, subject = _("Voucher cancelled"), detail.get("reason")
            elif new == V.LAPSED.value:
                label = _("Voucher lapsed: not claimed in time; the amount returned to the budget")
            else:
                continue
        else:
            label = str(_TIMELINE[entry.action])
            amount = detail.get("amount") if entry.action == "vouchers.granted" else (
                detail.get("approved_amount") if entry.action == "voucher.claim_reviewed" else (
                    detail.get("paid_amount") if entry.action == "voucher.paid" else None))
            if amount is not None:
                subject = money_text(Decimal(str(amount)))
        entries.append(TimelineEntry(entry.created_at, name, label, subject))
    return entries


# --- lists -------------------------------------------------------------------------------------------------


@dataclass
class VoucherFilters:
    scheme: str = ""
    status: str = ""
    q: str = ""

    def as_args(self) -> dict:
        return {k: v for k, v in (("scheme", self.scheme), ("status", self.status), ("q", self.q)) if v}


def _list_query(actor, filters: VoucherFilters):
    stmt = (select(Voucher).join(Organisation, Organisation.id == Voucher.organisation_id)
            .options(joinedload(Voucher.organisation), joinedload(Voucher.scheme), joinedload(Voucher.event)))
    if not is_staff(actor):
        ids = select(Membership.organisation_id).where(Membership.user_id == actor.id)
        stmt = stmt.where(Voucher.organisation_id.in_(ids))
    if filters.scheme.isdigit():
        stmt = stmt.where(Voucher.scheme_id == int(filters.scheme))
    if filters.status in {s.value for s in V}:
        stmt = stmt.where(Voucher.status == filters.status)
    q = (filters.q or "").strip().lower()[:100]
    if q:
        pattern = "%" + q.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"
        stmt = stmt.where(or_(func.lower(Organisation.legal_name).like(pattern, escape="!"),
                              func.lower(Organisation.vat_number).like(pattern, escape="!")))
    return stmt.order_by(Voucher.granted_on.desc(), Voucher.id.desc())


@dataclass
class VoucherList:
    page: Page
    counts: dict[str, int] = field(default_factory=dict)


def voucher_list(actor, filters: VoucherFilters, per_page: int = 50) -> VoucherList:
    """Staff: every voucher with the filters; an SME's member: its organisations' vouchers."""
    page = paginate(_list_query(actor, filters), per_page)
    counts = {}
    if is_staff(actor):
        counts = dict(db.session.execute(select(Voucher.status, func.count(Voucher.id)).group_by(Voucher.status)).all())
    return VoucherList(page, counts)


def voucher_export(actor, filters: VoucherFilters) -> tuple[list[str], list[list]]:
    _require_staff(actor)
    header = [str(h) for h in (_l("Voucher"), _l("Organisation"), _l("VAT or registration number"), _l("Scheme"),
                               _l("Event"), _l("Purpose"), _l("Status"), _l("Amount granted (EUR)"),
                               _l("Amount approved (EUR)"), _l("Amount paid (EUR)"), _l("Granted on"),
                               _l("Valid until"), _l("Paid on"), _l("Reason for closing"))]
    rows = [[v.id, v.organisation.legal_name, v.organisation.vat_number, v.scheme.name,
             v.event.name if v.event else "", v.purpose or "", v.status_enum.label, v.amount, v.approved_amount,
             v.paid_amount, v.granted_on, v.valid_until, v.paid_on, v.close_reason or ""]
            for v in db.session.scalars(_list_query(actor, filters)).unique()]
    audit.record("vouchers.exported", actor=actor, object_type="vouchers", rows=len(rows), filters=filters.as_args())
    return header, rows


def schemes_for_filter() -> list[VoucherScheme]:
    return list(db.session.scalars(select(VoucherScheme).order_by(VoucherScheme.name, VoucherScheme.id)))


# --- declared aid and the aid history ------------------------------------------------------------------------


def organisation_for_aid(actor, organisation_id: int) -> Organisation:
    """The organisation for staff and its members; anyone else gets 404."""
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None or organisation.anonymised_at is not None or not (
            is_staff(actor) or is_member(actor, organisation.id)):
        abort(404)
    return organisation


@dataclass
class AidHistory:
    organisation: Organisation
    vouchers: list[Voucher]
    declared: list[DeclaredAid]
    undertaking: deminimis.Undertaking
    position: deminimis.Position
    names: dict[int, str]  # organisation id -> name, for the linked enterprises' aid
    deletable: set[int]  # declared aid the actor may delete


def aid_history(actor, organisation_id: int) -> AidHistory:
    organisation = organisation_for_aid(actor, organisation_id)
    vouchers = list(db.session.scalars(
        select(Voucher).where(Voucher.organisation_id == organisation.id)
        .options(joinedload(Voucher.scheme), joinedload(Voucher.event))
        .order_by(Voucher.granted_on.desc(), Voucher.id.desc())))
    declared = list(db.session.scalars(
        select(DeclaredAid).where(DeclaredAid.organisation_id == organisation.id)
        .options(joinedload(DeclaredAid.application)).order_by(DeclaredAid.granted_on.desc(), DeclaredAid.id.desc())))
    undertaking, position = position_of(organisation, today())
    names = {organisation.id: organisation.legal_name}
    names.update({x.organisation_id: x.name for x in undertaking.linked if x.organisation_id is not None})
    last_grant = db.session.scalar(select(func.max(Voucher.granted_at)).where(Voucher.organisation_id == organisation.id))
    deletable = {aid.id for aid in declared if _may_delete(actor, aid, last_grant)}
    return AidHistory(organisation, vouchers, declared, undertaking, position, names, deletable)


def _may_delete(actor, aid: DeclaredAid, last_grant: datetime | None) -> bool:
    """Staff always; the members while no voucher was granted to the organisation after the
    declaration (a grant may have relied on it)."""
    if is_staff(actor):
        return True
    if not is_member(actor, aid.organisation_id):
        return False
    return last_grant is None or last_grant < aid.declared_at


def application_for_declaration(actor, organisation: Organisation, application_id) -> Application | None:
    """The organisation's own application a declaration is made in (`?application=`); else 404."""
    if application_id in (None, ""):
        return None
    if not str(application_id).isdigit():
        abort(404)
    application = db.session.get(Application, int(application_id))
    if application is None or application.organisation_id != organisation.id:
        abort(404)
    return application


@dataclass
class AidData:
    grantor: str
    granted_on: date | None
    amount: Decimal | None
    description: str = ""
    application_id: int | None = None


def aid_problems(organisation: Organisation, data: AidData) -> list[tuple[str | None, str]]:
    """What is wrong with a declaration (nothing changed): each problem with its field."""
    problems: list[tuple[str | None, str]] = []
    grantor = (data.grantor or "").strip()
    if not grantor:
        problems.append(("grantor", _("Enter who granted the aid, for example Regione Piemonte.")))
    elif len(grantor) > GRANTOR_MAX:
        problems.append(("grantor", _("Write at most %(max)d characters.", max=GRANTOR_MAX)))
    if data.granted_on is None:
        problems.append(("granted_on", _("Enter the date the aid was granted.")))
    elif data.granted_on > today():
        problems.append(("granted_on", _("The date cannot be in the future: declare aid already granted.")))
    message = _amount_problem(data.amount)
    if message:
        problems.append(("amount", message))
    description = (data.description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        problems.append(("description", _("Write at most %(max)d characters.", max=DESCRIPTION_MAX)))
    if not problems and db.session.scalar(select(DeclaredAid.id).where(
            DeclaredAid.organisation_id == organisation.id, DeclaredAid.grantor == grantor,
            DeclaredAid.granted_on == data.granted_on, DeclaredAid.amount == data.amount)) is not None:
        problems.append((None, _("This aid is already declared: %(grantor)s, %(amount)s on %(date)s.",
                                 grantor=grantor, amount=money_text(data.amount), date=_day(data.granted_on))))
    return problems


def declare_aid(actor, organisation: Organisation, data: AidData) -> DeclaredAid:
    if not (is_staff(actor) or is_member(actor, organisation.id)):
        abort(404)
    problems = aid_problems(organisation, data)
    if problems:
        raise Refused(problems)
    grantor = data.grantor.strip()
    description = (data.description or "").strip()
    aid = DeclaredAid(organisation_id=organisation.id, grantor=grantor, granted_on=data.granted_on,
                      amount=data.amount, description=description or None, application_id=data.application_id,
                      declared_at=utcnow(), declared_by_id=actor.id)
    db.session.add(aid)
    db.session.flush()
    audit.record("vouchers.aid_declared", aid, actor=actor, organisation_id=organisation.id, grantor=grantor,
                 granted_on=data.granted_on, amount=data.amount, application_id=data.application_id)
    audit.record("vouchers.aid_declared", organisation, actor=actor, declared_aid_id=aid.id, grantor=grantor,
                 granted_on=data.granted_on, amount=data.amount)
    return aid


def delete_declared_aid(actor, organisation: Organisation, aid_id: int) -> DeclaredAid:
    aid = db.session.get(DeclaredAid, aid_id)
    if aid is None or aid.organisation_id != organisation.id:
        abort(404)
    if not (is_staff(actor) or is_member(actor, organisation.id)):
        abort(404)
    last_grant = db.session.scalar(select(func.max(Voucher.granted_at)).where(Voucher.organisation_id == organisation.id))
    if not _may_delete(actor, aid, last_grant):
        raise VoucherError(_("A voucher was granted after this declaration, and the grant may rely on it: it can no "
                             "longer be deleted. Ask the programme staff if it is wrong."))
    detail = {"organisation_id": organisation.id, "grantor": aid.grantor, "granted_on": aid.granted_on,
              "amount": aid.amount, "declared_at": aid.declared_at, "application_id": aid.application_id}
    audit.record("vouchers.declared_aid_deleted", aid, actor=actor, **detail)
    audit.record("vouchers.declared_aid_deleted", organisation, actor=actor, declared_aid_id=aid.id,
                 grantor=aid.grantor, amount=aid.amount, granted_on=aid.granted_on)
    db.session.delete(aid)
    db.session.flush()
    return aid


# --- privacy: de minimis records are kept ten years ----------------------------------------------------------


def _erasure_handler(erasure: privacy.Erasure):
    """Vouchers and declared aid are de minimis records (Regulation (EU) 2023/2831, Article 6(4)):
    kept with the person's name until ten years after the end of the year of the grant, then the
    link to the person is removed."""
    user_id = erasure.user.id
    today_ = erasure.now.date()
    items = []
    voucher_columns = (Voucher.granted_by_id, Voucher.claimed_by_id, Voucher.reviewed_by_id)
    for model, columns, dated, label, reason in (
        (Voucher, voucher_columns, Voucher.granted_on, _l("Vouchers"),
         _l("Vouchers are records of de minimis aid: they are kept until ten years after the end of the year of "
            "the grant, then your name is removed from them.")),
        (DeclaredAid, (DeclaredAid.declared_by_id,), DeclaredAid.granted_on, _l("De minimis aid declared"),
         _l("Declared de minimis aid is kept with the aid records until ten years after the end of the year the "
            "aid was granted, then your name is removed from it.")),
    ):
        rows = db.session.execute(select(model.id, dated).where(or_(*(c == user_id for c in columns)))).all()
        if not rows:
            continue
        expired = [row_id for row_id, day in rows if privacy.retention_end(day, RETENTION_YEARS) < today_]
        if erasure.after_retention:
            if expired and not erasure.dry_run:
                for column in columns:
                    db.session.execute(update(model).where(model.id.in_(expired), column == user_id)
                                       .values({column.key: None}))
                db.session.flush()
            items.append(privacy.ErasureItem(label, len(expired), privacy.ANONYMISED, tables=(model.__tablename__,)))
            continue
        until = max(privacy.retention_end(day, RETENTION_YEARS) for _id, day in rows)
        items.append(privacy.ErasureItem(label, len(rows), privacy.KEPT, reason=reason, until=until,
                                         tables=(model.__tablename__,)))
    return items


privacy.register_erasure_handler(_erasure_handler)
privacy.register_table_label("vouchers", _l("Vouchers"))
privacy.register_table_label("declared_aid", _l("De minimis aid declared"))

"""Completion, the Seal of Excellence, its public verification, and the loan-scheme list.

- **Completion** (staff, while the cohort is running or completed): a company is confirmed
  completed, not completed, or withdrawn, through `states.transition` on its `completion`
  (audited). Completing a company that does not meet the criteria (`completion.assess`) is
  allowed, with a reason; not completed and withdrawn always need one. A completed company
  gets a `Seal` (a unique, unguessable code) and is flagged eligible for the regional loan
  schemes; the company's people are told, with the links.
- **Seals**: the certificate (Word) and its printable page are for staff and the company's
  people only (others: 404). Staff revoke a seal with a reason (audited, the company told);
  the company is then no longer loan-eligible and the public page says the seal was revoked.
- **Verification** (public): the code is read case-insensitively, spaces and dashes ignored;
  a valid seal states the company's legal name, the programme, the edition and the date of
  completion, and nothing else; a revoked one only that (and when) it was revoked.
- **Loan-scheme list** (staff and authority): the companies flagged eligible, with filters.

Functions check rights, flush and never commit; refusals raise `CohortError`.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from opsapp.accounts.models import Membership, Organisation, User
from opsapp.calls.models import Edition, Programme
from opsapp.cohorts import board, states
from opsapp.cohorts.models import Cohort, CohortMember, CohortStatus, CompletionStatus, Seal
from opsapp.cohorts.pages import CohortError, path_for
from opsapp.core import audit
from opsapp.core.notifications import absolute_url, notify
from opsapp.core.roles import Role
from opsapp.core.timeutil import to_local, utcnow
from opsapp.extensions import db

# Letters and digits that cannot be mistaken for one another (no 0/O, 1/I/L).
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
PREFIX = "SOE"
CODE_LENGTH = 12  # 31^12, about 59 bits: not guessable, even without the rate limit
REASON_MAX = 1000
DECIDING = (CohortStatus.RUNNING.value, CohortStatus.COMPLETED.value)


# --- codes ----------------------------------------------------------------------------------------


def _format(raw: str) -> str:
    return f"{PREFIX}-{raw[0:4]}-{raw[4:8]}-{raw[8:12]}"


def new_code() -> str:
    """A random code in readable groups: SOE-7K3M-Q9TX-2BHD."""
    return _format("".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH)))


def normalise_code(text: str | None) -> str | None:
    """The code as stored, from what someone typed (any case, spaces and dashes anywhere, the
    prefix optional); None when it cannot be a code."""
    raw = re.sub(r"[\s\-‐-―_.]+", "", text or "").upper()
    if len(raw) == CODE_LENGTH + len(PREFIX) and raw.startswith(PREFIX):
        raw = raw[len(PREFIX):]
    if len(raw) != CODE_LENGTH or any(ch not in ALPHABET for ch in raw):
        return None
    return _format(raw)


def _unique_code() -> str:
    while True:
        code = new_code()
        if db.session.scalar(select(func.count(Seal.id)).where(Seal.code == code)) == 0:
            return code


# --- who is who ----------------------------------------------------------------------------------------


def is_staff(user) -> bool:
    return bool(user.is_authenticated and user.has_role(Role.STAFF, Role.ADMIN))


def is_member_of(user, organisation_id: int) -> bool:
    if not user.is_authenticated:
        return False
    return db.session.scalar(select(func.count(Membership.id)).where(
        Membership.user_id == user.id, Membership.organisation_id == organisation_id)) > 0


def people_of(organisation_id: int) -> list[User]:
    return list(db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == organisation_id).order_by(User.id)))


def _local_date(cohort: Cohort, when: datetime) -> date:
    return to_local(when, cohort.timezone or "Europe/Rome").date()


# --- completion ---------------------------------------------------------------------------------------


DECISIONS = {
    CompletionStatus.COMPLETED.value: _l("Completed: the company gets the Seal of Excellence"),
    CompletionStatus.NOT_COMPLETED.value: _l("Not completed"),
    CompletionStatus.WITHDRAWN.value: _l("Withdrawn from the programme"),
}


def member_in_cohort(cohort_id: int, member_id: int) -> tuple[Cohort, CohortMember]:
    member = db.session.scalar(
        select(CohortMember).where(CohortMember.id == member_id, CohortMember.cohort_id == cohort_id)
        .options(joinedload(CohortMember.organisation),
                 joinedload(CohortMember.cohort).joinedload(Cohort.edition).joinedload(Edition.programme)))
    if member is None:
        abort(404)
    return member.cohort, member


def can_decide(cohort: Cohort) -> bool:
    return cohort.status in DECIDING


def seal_of(member: CohortMember) -> Seal | None:
    return db.session.scalar(select(Seal).where(Seal.member_id == member.id))


def decide_completion(actor, cohort_id: int, member_id: int, decision: str, reason: str | None,
                      now: datetime | None = None) -> Seal | None:
    """Record the company's completion; returns the seal issued when it completed."""
    now = now or utcnow()
    cohort, member = member_in_cohort(cohort_id, member_id)
    if not can_decide(cohort):
        raise CohortError(_("Completions are decided once the cohort is running or has ended; this cohort is "
                            "%(status)s.", status=cohort.status_enum.label.lower()))
    try:
        wanted = CompletionStatus(decision)
    except ValueError:
        raise CohortError(_("Choose completed, not completed or withdrawn."), field="decision") from None
    if wanted is CompletionStatus.IN_PROGRESS:
        raise CohortError(_("Choose completed, not completed or withdrawn."), field="decision")
    reason = (reason or "").strip() or None
    if reason and len(reason) > REASON_MAX:
        raise CohortError(_("Write the reason in at most %(n)d characters.", n=REASON_MAX), field="reason")
    current = CompletionStatus(member.completion)
    if not states.allowed(current, wanted):
        raise CohortError(_("This company's completion is already decided (%(status)s) and cannot become "
                            "%(wanted)s.", status=current.label.lower(), wanted=wanted.label.lower()),
                          field="decision")
    row = board.member_row(cohort, member, now)
    if wanted is not CompletionStatus.COMPLETED and not reason:
        raise CohortError(_("Give the reason: the company is told."), field="reason")
    if wanted is CompletionStatus.COMPLETED and not row.meets and not reason:
        raise CohortError(_("This company does not meet the completion criteria: give the reason for "
                            "confirming its completion all the same."), field="reason")
    figures = {check.key: str(check.figure) for check in row.assessment.checks}
    states.transition(member, wanted, actor=actor, reason=reason, criteria_met=row.meets, figures=figures,
                      cohort_id=cohort.id, organisation_id=member.organisation_id)
    member.completion_decided_at = now
    member.completion_decided_by_id = getattr(actor, "id", None)
    member.completion_note = reason
    seal = None
    if wanted is CompletionStatus.COMPLETED:
        member.loan_eligible = True
        seal = _issue(member, actor, now)
    else:
        member.loan_eligible = False
    db.session.flush()
    _tell_completion(member, wanted, seal, reason)
    return seal


def _issue(member: CohortMember, actor, now: datetime) -> Seal:
    if seal_of(member) is not None:
        raise CohortError(_("This company already has a Seal of Excellence."))
    seal = Seal(member_id=member.id, code=_unique_code(), issued_on=_local_date(member.cohort, now), issued_at=now,
                issued_by_id=getattr(actor, "id", None))
    db.session.add(seal)
    db.session.flush()
    audit.record("seals.issued", seal, actor=actor, member_id=member.id, organisation_id=member.organisation_id,
                 cohort_id=member.cohort_id, code=seal.code, issued_on=seal.issued_on.isoformat())
    return seal


def _tell_completion(member: CohortMember, status: CompletionStatus, seal: Seal | None, reason: str | None) -> int:
    company, cohort = member.organisation.legal_name, member.cohort.name
    if seal is not None:
        subject = _l("Your Seal of Excellence: %(cohort)s", cohort=cohort)
        message = _l("%(company)s completed %(cohort)s and receives the Seal of Excellence, with the verification "
                     "code %(code)s. Anyone can check it at %(verify)s. The certificate, to download or print, is "
                     "on the page below.", company=company, cohort=cohort, code=seal.code,
                     verify=absolute_url(path_for("cohorts.verify", code=seal.code) or "/verify"))
        link = path_for("cohorts.seal_print", seal_id=seal.id)
    else:
        subject = _l("Your completion of %(cohort)s", cohort=cohort)
        message = _l("The programme staff recorded %(company)s as %(status)s in %(cohort)s. Reason: %(reason)s",
                     company=company, status=status.label.lower(), cohort=cohort, reason=reason or "")
        link = path_for("cohorts.member", cohort_id=member.cohort_id, member_id=member.id)
    told = 0
    for user in people_of(member.organisation_id):
        if notify(user, subject, "generic", link=link, message=message) is not None:
            told += 1
    return told


# --- seals ------------------------------------------------------------------------------------------------


def _seal_query():
    return select(Seal).options(
        joinedload(Seal.member).joinedload(CohortMember.organisation),
        joinedload(Seal.member).joinedload(CohortMember.cohort).joinedload(Cohort.edition)
        .joinedload(Edition.programme))


def viewable_seal(user, seal_id: int) -> Seal:
    """A seal for staff and the company's people; anyone else: 404."""
    seal = db.session.scalar(_seal_query().where(Seal.id == seal_id))
    if seal is None or not (is_staff(user) or is_member_of(user, seal.member.organisation_id)):
        abort(404)
    return seal


def revoke(actor, seal_id: int, reason: str | None, now: datetime | None = None) -> Seal:
    now = now or utcnow()
    seal = db.session.scalar(_seal_query().where(Seal.id == seal_id))
    if seal is None:
        abort(404)
    if seal.revoked_at is not None:
        raise CohortError(_("This seal is already revoked."))
    reason = (reason or "").strip()
    if not reason:
        raise CohortError(_("Give the reason for revoking the seal: the company is told."), field="reason")
    if len(reason) > REASON_MAX:
        raise CohortError(_("Write the reason in at most %(n)d characters.", n=REASON_MAX), field="reason")
    seal.revoked_at = now
    seal.revoked_by_id = getattr(actor, "id", None)
    seal.revoke_reason = reason
    member = seal.member
    member.loan_eligible = False
    db.session.flush()
    audit.record("seals.revoked", seal, actor=actor, reason=reason, member_id=member.id,
                 organisation_id=member.organisation_id, code=seal.code, loan_eligible=False)
    subject = _l("Your Seal of Excellence was revoked")
    message = _l("The Seal of Excellence of %(company)s (code %(code)s) was revoked. Reason: %(reason)s",
                 company=member.organisation.legal_name, code=seal.code, reason=reason)
    for user in people_of(member.organisation_id):
        notify(user, subject, "generic", link=path_for("cohorts.seal_print", seal_id=seal.id), message=message)
    return seal


@dataclass(frozen=True)
class Certificate:
    """What a certificate (Word or printed) says."""

    seal: Seal
    company: str
    programme: str
    edition: int
    cohort: str
    completed_on: date
    code: str
    verify_url: str

    @property
    def revoked(self) -> bool:
        return self.seal.revoked_at is not None


def certificate(seal: Seal, verify_url: str, locale: str = "en") -> Certificate:
    member = seal.member
    edition = member.cohort.edition
    return Certificate(seal=seal, company=member.organisation.legal_name, programme=edition.programme.name(locale),
                       edition=edition.year, cohort=member.cohort.name, completed_on=seal.issued_on, code=seal.code,
                       verify_url=verify_url)


# --- the public verification -----------------------------------------------------------------------------


VALID, REVOKED, UNKNOWN = "valid", "revoked", "unknown"


@dataclass(frozen=True)
class Verification:
    """What the public page may state: for a valid seal the company's legal name, the programme,
    the edition and the date of completion; for a revoked one the date it was revoked."""

    state: str
    code: str | None = None
    company: str | None = None
    programme: str | None = None
    edition: int | None = None
    completed_on: date | None = None
    revoked_on: date | None = None


def verify(text: str | None, locale: str = "en") -> Verification:
    code = normalise_code(text)
    if code is None:
        return Verification(UNKNOWN)
    row = db.session.execute(
        select(Seal.issued_on, Seal.revoked_at, Organisation.legal_name, Programme, Edition.year, Cohort.timezone)
        .join(CohortMember, CohortMember.id == Seal.member_id)
        .join(Organisation, Organisation.id == CohortMember.organisation_id)
        .join(Cohort, Cohort.id == CohortMember.cohort_id)
        .join(Edition, Edition.id == Cohort.edition_id)
        .join(Programme, Programme.id == Edition.programme_id)
        .where(Seal.code == code)).first()
    if row is None:
        return Verification(UNKNOWN, code=code)
    issued_on, revoked_at, legal_name, programme, year, zone = row
    if revoked_at is not None:
        return Verification(REVOKED, code=code, revoked_on=to_local(revoked_at, zone or "Europe/Rome").date())
    return Verification(VALID, code=code, company=legal_name, programme=programme.name(locale), edition=year,
                        completed_on=issued_on)


# --- the loan-scheme list -------------------------------------------------------------------------------


@dataclass
class LoanFilters:
    year: int | None = None
    cohort_id: int | None = None
    size_class: str | None = None
    q: str = ""

    def as_args(self) -> dict:
        args = {"year": self.year, "cohort": self.cohort_id, "size_class": self.size_class, "q": self.q}
        return {k: v for k, v in args.items() if v not in (None, "")}


@dataclass
class LoanRow:
    member: CohortMember
    seal: Seal | None

    @property
    def organisation(self) -> Organisation:
        return self.member.organisation

    @property
    def completed_on(self) -> date | None:
        if self.seal is not None:
            return self.seal.issued_on
        decided = self.member.completion_decided_at
        return _local_date(self.member.cohort, decided) if decided else None


def loan_list(filters: LoanFilters) -> list[LoanRow]:
    """The companies flagged eligible for the regional loan schemes (completed), newest first."""
    query = (select(CohortMember)
             .join(Organisation, Organisation.id == CohortMember.organisation_id)
             .join(Cohort, Cohort.id == CohortMember.cohort_id)
             .join(Edition, Edition.id == Cohort.edition_id)
             .where(CohortMember.loan_eligible.is_(True),
                    CohortMember.completion == CompletionStatus.COMPLETED.value,
                    Organisation.anonymised_at.is_(None))
             .options(joinedload(CohortMember.organisation),
                      joinedload(CohortMember.cohort).joinedload(Cohort.edition).joinedload(Edition.programme))
             .order_by(Edition.year.desc(), Organisation.legal_name, CohortMember.id))
    if filters.year:
        query = query.where(Edition.year == filters.year)
    if filters.cohort_id:
        query = query.where(Cohort.id == filters.cohort_id)
    if filters.size_class:
        query = query.where(Organisation.size_class == filters.size_class)
    if filters.q:
        like = f"%{filters.q.strip()}%"
        query = query.where(or_(Organisation.legal_name.ilike(like), Organisation.vat_number.ilike(like)))
    members = list(db.session.scalars(query).unique())
    seals = {s.member_id: s for s in db.session.scalars(
        select(Seal).where(Seal.member_id.in_([m.id for m in members])))} if members else {}
    return [LoanRow(member, seals.get(member.id)) for member in members]


def loan_filter_choices() -> tuple[list[int], list[Cohort]]:
    """The edition years and cohorts that have a loan-eligible company."""
    cohorts = list(db.session.scalars(
        select(Cohort).join(CohortMember, CohortMember.cohort_id == Cohort.id)
        .where(CohortMember.loan_eligible.is_(True)).options(joinedload(Cohort.edition))
        .order_by(Cohort.starts_on.desc(), Cohort.id)).unique())
    years = sorted({c.edition.year for c in cohorts}, reverse=True)
    return years, cohorts


# --- home panels ---------------------------------------------------------------------------------------------


def completions_to_decide(today: date | None = None) -> list[tuple[Cohort, int]]:
    """Cohorts past their end date with members whose completion is still in progress."""
    today = today or utcnow().date()
    rows = db.session.execute(
        select(Cohort, func.count(CohortMember.id))
        .join(CohortMember, CohortMember.cohort_id == Cohort.id)
        .where(Cohort.ends_on < today, Cohort.status.in_(DECIDING),
               CohortMember.completion == CompletionStatus.IN_PROGRESS.value)
        .group_by(Cohort.id).order_by(Cohort.ends_on, Cohort.id))
    return [(cohort, int(count)) for cohort, count in rows]


def seals_of_user(user) -> list[Seal]:
    """The seals (not revoked) of the user's companies."""
    return list(db.session.scalars(
        _seal_query().join(CohortMember, CohortMember.id == Seal.member_id)
        .join(Membership, Membership.organisation_id == CohortMember.organisation_id)
        .where(Membership.user_id == user.id, Seal.revoked_at.is_(None))
        .order_by(Seal.issued_on.desc(), Seal.id)).unique())


# --- the certificate (Word) -------------------------------------------------------------------------------


def certificate_docx(cert: Certificate) -> tuple[str, bytes]:
    """The certificate as a Word document (filename, bytes), in the current language."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt
    from flask_babel import format_date

    from opsapp.core import word

    edition = cert.seal.member.cohort.edition
    header = [_("Regione Piemonte · innovation programmes"), f"{cert.programme} {cert.edition}"]
    if edition.implementing_organisation_id is not None and edition.implementing_organisation is not None:
        header.append(_("Implemented by %(organisation)s", organisation=edition.implementing_organisation.legal_name))
    document = word.new_document(_("Seal of Excellence"), header)
    if cert.revoked:
        warning = document.add_paragraph()
        run = warning.add_run(_("This seal was revoked on %(date)s and is no longer valid.",
                                date=format_date(cert.seal.revoked_at.date(), "long")))
        run.bold = True
    document.add_heading(_("Seal of Excellence"), level=0)
    intro = document.add_paragraph(_("This certifies that"))
    intro.alignment = WD_ALIGN_PARAGRAPH.CENTER
    name = document.add_paragraph()
    name.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = name.add_run(word.clean(cert.company))
    run.bold = True
    run.font.size = Pt(20)
    body = document.add_paragraph(word.clean(_(
        "completed the %(programme)s, edition %(edition)s (%(cohort)s), on %(date)s, and is eligible for the "
        "regional loan schemes for companies that hold the Seal of Excellence.",
        programme=cert.programme, edition=cert.edition, cohort=cert.cohort,
        date=format_date(cert.completed_on, "long"))))
    body.alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.add_paragraph()
    word.facts(document, [
        (_("Company"), cert.company),
        (_("Programme"), cert.programme),
        (_("Edition"), str(cert.edition)),
        (_("Date of completion"), format_date(cert.completed_on, "long")),
        (_("Verification code"), cert.code),
        (_("Verification page"), cert.verify_url),
    ])
    document.add_paragraph(word.clean(_(
        "Anyone can check that this seal is genuine and still valid on the verification page above, or at "
        "%(url)s with the verification code.", url=cert.verify_url.rsplit("/", 1)[0])))
    closing = document.add_paragraph(_("For the programme staff"))
    if edition.implementing_organisation is not None:
        closing.add_run().add_break()
        closing.add_run(word.clean(edition.implementing_organisation.legal_name))
    return f"seal-of-excellence-{word.safe_name(cert.code)}.docx", word.save(document)

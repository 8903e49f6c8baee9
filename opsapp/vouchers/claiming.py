"""Claims, their review and the payment of a voucher: the use cases, with their rights.

- The SME's members claim a granted voucher, while it has not expired: they add expense lines
  (category, date, description, amount) each with its receipt (PDF, JPEG or PNG, checked by
  content), delete them, and submit the claim, which freezes it (`claimed`); staff and the
  SME's members are told. After the submission the lines cannot change.
- Staff review a claimed voucher line by line (approve fully, approve partly with a reason,
  reject with a reason): the voucher is `approved` at the sum approved and the SME told with
  the reasons. A voucher approved at EUR 0 (every line rejected) stays approved at 0 and is
  never paid: there is nothing to pay, and its amount went back to the budget at the review.
- Staff record the payment of an approved voucher (date, reference, the approved amount
  exactly): `paid`, and the SME told.

The rules are in `claims.py`; every status change goes through `states.transition` (audited);
every decision is audited here. Members of the voucher's organisation reach its claim; anyone
else gets 404 (staff reach the review and payment through their role). Functions flush and
never commit; refusals raise `VoucherError` (several problems: `ClaimRefused`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import abort
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from opsapp.accounts.models import Membership, User, UserRole
from opsapp.core import audit, files
from opsapp.core.models import StoredFile
from opsapp.core.money import format_money
from opsapp.core.notifications import notify
from opsapp.core.roles import Role
from opsapp.core.timeutil import to_local, utcnow
from opsapp.extensions import db
from opsapp.vouchers import claims, states
from opsapp.vouchers.models import CostCategory, ExpenseLine, Voucher, VoucherStatus
from opsapp.vouchers.pages import VoucherError, is_staff, path_for

RECEIPT_PURPOSE = "voucher_receipt"
RECEIPT_KINDS = files.RECEIPTS


class ClaimRefused(VoucherError):
    """Refused for one or more problems, each next to its field: `problems` is a list of
    (field, message); the first is also the error's message and field."""

    def __init__(self, problems: Sequence[tuple[str, str]]):
        self.problems = list(problems)
        field, message = self.problems[0]
        super().__init__(message, field=field or None)


# --- dates and wording -----------------------------------------------------------------------------------


def today() -> date:
    """Today in the programme's zone (Europe/Rome): the day receipts and payments are dated in."""
    return to_local(utcnow()).date()


def money_text(amount) -> str:
    return format_money(amount, str(get_locale() or "en"))


def _date(value) -> str:
    return format_date(value, "medium")


_MESSAGES = {
    "amount_missing": _l("Enter the amount in EUR, for example 250.00."),
    "amount_unreadable": _l("Write the amount in EUR with a decimal point, for example 1250.50."),
    "amount_ambiguous": _l("Write the amount without thousands separators and with at most two decimals, "
                           "for example 1250 or 12.50."),
    "amount_not_positive": _l("The amount must be more than zero."),
    "amount_decimals": _l("Use at most two decimals (cents)."),
    "amount_too_large": _l("This amount is too large: check it."),
    "category_missing": _l("Choose the category of the expense."),
    "category_not_eligible": _l("This category is not eligible under the voucher's scheme."),
    "date_missing": _l("Enter the date of the expense."),
    "date_future": _l("The date of the expense cannot be in the future."),
    "description_missing": _l("Describe the expense, for example: train Torino–Milano, 12 March."),
    "description_too_long": _l("Write at most %(max)d characters."),
    "receipt_missing": _l("Attach the receipt (PDF, JPEG or PNG)."),
    "no_lines": _l("Add at least one expense with its receipt before submitting the claim."),
    "decision_missing": _l("Choose a decision for this line."),
    "reason_missing": _l("Give the reason: the SME will read it."),
    "reason_too_long": _l("Write at most %(max)d characters."),
    "paid_on_missing": _l("Enter the date of the payment."),
    "paid_on_future": _l("The date of the payment cannot be in the future."),
    "reference_missing": _l("Enter the reference of the payment (for example the bank transfer's CRO/TRN)."),
    "reference_too_long": _l("Write at most %(max)d characters."),
}


def message(problem: claims.Problem) -> str:
    """The problem in the user's language."""
    p = problem.params
    code = problem.code
    if code == "date_outside":
        text = _("The date must be within the voucher's validity, from %(start)s to %(end)s.",
                 start=_date(p["start"]), end=_date(p["end"]))
    elif code == "total_over_voucher":
        text = _("The claim would total %(total)s, more than the voucher's %(voucher)s. At most %(left)s can "
                 "still be claimed.", total=money_text(p["total"]), voucher=money_text(p["voucher"]), left=money_text(p["left"]))
    elif code == "claim_expired":
        text = _("The claim period ended on %(end)s: the claim can no longer be changed or submitted.",
                 end=_date(p["end"]))
    elif code == "claim_closed":
        text = _("This claim is closed: it can no longer be changed.")
    elif code == "partly_amount_missing":
        text = _("Enter the amount approved, more than 0 and less than %(amount)s.", amount=money_text(p["line_amount"]))
    elif code == "partly_amount_range":
        text = _("A partial approval is more than 0 and less than the line's %(amount)s. To approve it all choose "
                 "“Approve fully”; to approve nothing choose “Reject”.", amount=money_text(p["line_amount"]))
    elif code == "paid_before_review":
        text = _("The payment cannot be dated before the review (%(date)s).", date=_date(p["reviewed_on"]))
    elif code == "payment_not_approved_amount":
        text = _("The payment must be the approved amount, %(amount)s: partial payments are not part of the "
                 "scheme.", amount=money_text(p["approved"]))
    else:
        text = str(_MESSAGES[code])
        if "max" in p:
            text = text % {"max": p["max"]}
    if "line" in p:
        return _("Line %(number)d: %(problem)s", number=p["line"], problem=text)
    return text


def refused(problems: Sequence[claims.Problem]) -> ClaimRefused:
    return ClaimRefused([(p.field, message(p)) for p in problems])


# --- who may see what ------------------------------------------------------------------------------------


def is_member(user, organisation_id: int) -> bool:
    return bool(user.is_authenticated and any(m.organisation_id == organisation_id for m in user.memberships))


def _may_download_receipt(user, stored: StoredFile) -> bool:
    return stored.organisation_id is not None and is_member(user, stored.organisation_id)


files.register_access_rule(RECEIPT_PURPOSE, _may_download_receipt)


def _load(voucher_id: int, lock: bool = False) -> Voucher:
    stmt = select(Voucher).where(Voucher.id == voucher_id)
    if lock:
        stmt = stmt.with_for_update(of=Voucher)  # the voucher row only (not the outer-joined ones)
    voucher = db.session.scalar(stmt.options(
        joinedload(Voucher.scheme), joinedload(Voucher.organisation),
        selectinload(Voucher.lines).joinedload(ExpenseLine.category),
        selectinload(Voucher.lines).joinedload(ExpenseLine.receipt)))
    if voucher is None:
        abort(404)
    return voucher


def voucher_for_claim(user, voucher_id: int, lock: bool = False) -> Voucher:
    """The voucher, for a member of its organisation; anyone else: 404."""
    voucher = _load(voucher_id, lock)
    if not is_member(user, voucher.organisation_id):
        abort(404)
    return voucher


def voucher_for_staff(user, voucher_id: int, lock: bool = False) -> Voucher:
    voucher = _load(voucher_id, lock)
    if not is_staff(user):
        abort(404)
    return voucher


def receipt_for_download(user, voucher_id: int, line_id: int) -> StoredFile:
    """The receipt of a line, for the SME's members and staff (audited); anyone else: 404."""
    voucher = _load(voucher_id)
    if not (is_staff(user) or is_member(user, voucher.organisation_id)):
        abort(404)
    line = next((line for line in voucher.lines if line.id == line_id), None)
    if line is None or line.receipt is None or not files.can_download(user, line.receipt):
        abort(404)
    if not files.path_of(line.receipt).is_file():
        abort(404)
    audit.record("voucher.receipt_downloaded", voucher, actor=user, line_id=line.id, file_id=line.receipt.id)
    return line.receipt


# --- reading a claim -------------------------------------------------------------------------------------


def terms_of(voucher: Voucher) -> claims.Terms:
    return claims.Terms(amount=voucher.amount, granted_on=voucher.granted_on, valid_until=voucher.valid_until,
                        categories=frozenset(c.id for c in voucher.scheme.cost_categories))


def _plain(line: ExpenseLine) -> claims.Line:
    return claims.Line(category_id=line.category_id, spent_on=line.spent_on, description=line.description,
                       amount=line.amount, has_receipt=line.receipt_id is not None)


def claim_open(voucher: Voucher, on: date | None = None) -> bool:
    return claims.claim_open(voucher.status, voucher.valid_until, on or today())


@dataclass
class Claim:
    voucher: Voucher
    lines: list[ExpenseLine]
    total: Decimal
    left: Decimal
    open: bool
    expired: bool  # granted, but past its claim-by date

    @property
    def over(self) -> bool:
        return self.total > self.voucher.amount


def claim_of(voucher: Voucher) -> Claim:
    lines = list(voucher.lines)
    total = claims.total(_plain(line) for line in lines)
    on = today()
    return Claim(voucher=voucher, lines=lines, total=total, left=max(claims.ZERO, voucher.amount - total),
                 open=claim_open(voucher, on),
                 expired=voucher.status == VoucherStatus.GRANTED.value and on > voucher.valid_until)


def eligible_categories(voucher: Voucher) -> list[CostCategory]:
    return list(voucher.scheme.cost_categories)


def submission_problems(voucher: Voucher) -> list[claims.Problem]:
    return claims.submission_problems([_plain(line) for line in voucher.lines], terms_of(voucher), today(),
                                      voucher.status)


# --- changing a claim ------------------------------------------------------------------------------------


def _require_open(voucher: Voucher) -> None:
    if not claim_open(voucher):
        code = "claim_expired" if voucher.status == VoucherStatus.GRANTED.value else "claim_closed"
        raise VoucherError(message(claims.Problem("", code, {"end": voucher.valid_until})))


def add_line(actor, voucher: Voucher, *, category_id: int | None, spent_on: date | None, description: str,
             amount: Decimal | None, receipt) -> ExpenseLine:
    """Add one expense with its receipt. Every problem (the line's, the total's, the receipt's) is
    found before anything is written: nothing is saved, neither the line nor the file."""
    _require_open(voucher)
    line = claims.Line(category_id=category_id, spent_on=spent_on, description=(description or "").strip(),
                       amount=amount, has_receipt=bool(receipt is not None and getattr(receipt, "filename", "")))
    problems = claims.adding_problems(line, [_plain(existing) for existing in voucher.lines], terms_of(voucher),
                                      today())
    worded = [(p.field, message(p)) for p in problems]
    if line.has_receipt:
        try:
            files.check(receipt, RECEIPT_KINDS)
        except files.FileRejected as error:
            worded.append(("receipt", str(error)))
        finally:
            receipt.stream.seek(0)
    if worded:
        raise ClaimRefused(worded)
    stored = files.store(receipt, purpose=RECEIPT_PURPOSE, uploaded_by=actor, organisation_id=voucher.organisation_id,
                         allowed=RECEIPT_KINDS, description=line.description[:255])
    try:
        row = ExpenseLine(voucher_id=voucher.id, category_id=category_id, spent_on=spent_on,
                          description=line.description, amount=claims.money(amount), receipt_id=stored.id)
        voucher.lines.append(row)
        db.session.flush()
    except Exception:
        files.path_of(stored).unlink(missing_ok=True)  # the row rolls back; the file must not outlive it
        raise
    audit.record("voucher.claim_line_added", voucher, actor=actor, line_id=row.id, category=row.category_id,
                 spent_on=row.spent_on, amount=row.amount, description=row.description, file_id=stored.id,
                 file_name=stored.original_name, sha256=stored.sha256)
    return row


def delete_line(actor, voucher: Voucher, line_id: int) -> None:
    line = next((line for line in voucher.lines if line.id == line_id), None)
    if line is None:
        abort(404)
    _require_open(voucher)
    audit.record("voucher.claim_line_deleted", voucher, actor=actor, line_id=line.id, category=line.category_id,
                 spent_on=line.spent_on, amount=line.amount, description=line.description,
                 file_id=line.receipt_id)
    receipt = line.receipt
    voucher.lines.remove(line)
    db.session.flush()
    if receipt is not None:
        files.delete(receipt)
        db.session.flush()


def submit_claim(actor, voucher: Voucher, *, declared: bool) -> Decimal:
    """Check every rule again, freeze the claim and tell staff and the SME; returns the total."""
    if not declared:
        raise VoucherError(_l("Confirm the declaration to submit the claim."), field="declaration")
    problems = submission_problems(voucher)
    if problems:
        raise refused(problems)
    total = claims.total(_plain(line) for line in voucher.lines)
    voucher.claimed_at = utcnow()
    voucher.claimed_by_id = actor.id
    states.transition(voucher, VoucherStatus.CLAIMED, actor=actor, total=total, lines=len(voucher.lines))
    audit.record("voucher.claim_submitted", voucher, actor=actor, total=total, amount=voucher.amount,
                 declaration=True, lines=[{"line_id": line.id, "category": line.category.code,
                                           "spent_on": line.spent_on, "amount": line.amount,
                                           "file_id": line.receipt_id} for line in voucher.lines])
    db.session.flush()
    context = {"voucher": voucher, "organisation": voucher.organisation.legal_name, "total": total,
               "lines": len(voucher.lines)}
    review_link = path_for("vouchers.review", voucher_id=voucher.id)
    for user in staff_users():
        notify(user, _l("Claim to review: %(organisation)s", organisation=voucher.organisation.legal_name),
               "voucher_claim_to_review", link=review_link, **context)
    claim_link = path_for("vouchers.claim", voucher_id=voucher.id)
    for user in members_of(voucher.organisation_id):
        notify(user, _l("Your voucher claim was received"), "voucher_claim_received", link=claim_link, **context)
    return total


# --- the review --------------------------------------------------------------------------------------------


@dataclass
class ReviewOutcome:
    approved_amount: Decimal
    problems: list[tuple[int, str, str]]  # (line id, field, message)


def check_review(voucher: Voucher, decisions: Mapping[int, claims.Decision]) -> ReviewOutcome:
    """The problems of the decisions typed (none missing), and the approved total they give."""
    problems = []
    outcomes = []
    for line in voucher.lines:
        decision = decisions.get(line.id, claims.Decision(None))
        found = claims.decision_problems(decision, line.amount)
        problems.extend((line.id, p.field, message(p)) for p in found)
        if not found:
            outcomes.append(claims.decided(decision, line.amount))
    return ReviewOutcome(claims.approved_total(outcomes, voucher.amount), problems)


class ReviewRefused(VoucherError):
    def __init__(self, problems: list[tuple[int, str, str]]):
        self.problems = problems
        super().__init__(_l("Some decisions need attention: see the lines marked below."))


def review_claim(actor, voucher: Voucher, decisions: Mapping[int, claims.Decision]) -> Decimal:
    """Decide every line of a claimed voucher; the voucher is approved at the sum approved (EUR 0
    when everything is rejected: it then stays approved at 0 and is never paid)."""
    if voucher.status != VoucherStatus.CLAIMED.value:
        raise VoucherError(_l("Only a submitted claim can be reviewed; this voucher is %(status)s.",
                              status=voucher.status_enum.label))
    checked = check_review(voucher, decisions)
    if checked.problems:
        raise ReviewRefused(checked.problems)
    decided_lines = []
    for line in voucher.lines:
        outcome = claims.decided(decisions[line.id], line.amount)
        line.decision, line.approved_amount, line.decision_reason = outcome.decision, outcome.approved_amount, \
            outcome.reason
        decided_lines.append({"line_id": line.id, "category": line.category.code, "amount": line.amount,
                              "decision": outcome.decision, "approved_amount": outcome.approved_amount,
                              "reason": outcome.reason})
    approved = claims.approved_total([claims.Decided(line.decision, line.approved_amount, line.decision_reason)
                                      for line in voucher.lines], voucher.amount)
    voucher.approved_amount = approved
    voucher.reviewed_at = utcnow()
    voucher.reviewed_by_id = actor.id
    states.transition(voucher, VoucherStatus.APPROVED, actor=actor, approved_amount=approved)
    audit.record("voucher.claim_reviewed", voucher, actor=actor, amount=voucher.amount, approved_amount=approved,
                 released=voucher.amount - approved, lines=decided_lines)
    db.session.flush()
    link = path_for("vouchers.claim", voucher_id=voucher.id)
    for user in members_of(voucher.organisation_id):
        notify(user, _l("Your voucher claim was reviewed"), "voucher_claim_reviewed", link=link, voucher=voucher,
               organisation=voucher.organisation.legal_name, approved=approved, lines=list(voucher.lines))
    return approved


# --- the payment -------------------------------------------------------------------------------------------


def reviewed_on(voucher: Voucher) -> date | None:
    return to_local(voucher.reviewed_at).date() if voucher.reviewed_at else None


def payable(voucher: Voucher) -> bool:
    return claims.payable(voucher.status, voucher.approved_amount)


def record_payment(actor, voucher: Voucher, *, paid_on: date | None, reference: str, amount: Decimal | None) -> None:
    if voucher.status != VoucherStatus.APPROVED.value:
        raise VoucherError(_l("Only an approved voucher can be paid; this voucher is %(status)s.",
                              status=voucher.status_enum.label))
    if not payable(voucher):
        raise VoucherError(_l("This voucher was approved at EUR 0: there is nothing to pay."))
    problems = claims.payment_problems(approved_amount=voucher.approved_amount, reviewed_on=reviewed_on(voucher),
                                       paid_on=paid_on, reference=reference, amount=amount, today=today())
    if problems:
        raise refused(problems)
    voucher.paid_amount = claims.money(amount)
    voucher.paid_on = paid_on
    voucher.payment_reference = reference.strip()
    states.transition(voucher, VoucherStatus.PAID, actor=actor, paid_amount=voucher.paid_amount,
                      paid_on=paid_on, reference=voucher.payment_reference)
    audit.record("voucher.paid", voucher, actor=actor, paid_amount=voucher.paid_amount, paid_on=paid_on,
                 reference=voucher.payment_reference)
    db.session.flush()
    link = path_for("vouchers.claim", voucher_id=voucher.id)
    for user in members_of(voucher.organisation_id):
        notify(user, _l("Your voucher was paid"), "voucher_claim_paid", link=link, voucher=voucher,
               organisation=voucher.organisation.legal_name)


# --- people and lists ----------------------------------------------------------------------------------------


def staff_users() -> list[User]:
    """Active programme staff: they review claims."""
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == str(Role.STAFF), User.disabled_at.is_(None), User.erased_at.is_(None))
        .order_by(User.id)).unique())


def members_of(organisation_id: int) -> list[User]:
    return list(db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == organisation_id, User.disabled_at.is_(None), User.erased_at.is_(None))
        .order_by(User.id)).unique())


def to_claim(user) -> list[Voucher]:
    """Granted vouchers of the user's organisations still open for a claim, soonest claim-by first."""
    organisation_ids = {m.organisation_id for m in user.memberships}
    if not organisation_ids:
        return []
    return list(db.session.scalars(
        select(Voucher).options(joinedload(Voucher.organisation), joinedload(Voucher.scheme))
        .where(Voucher.organisation_id.in_(organisation_ids), Voucher.status == VoucherStatus.GRANTED.value,
               Voucher.valid_until >= today())
        .order_by(Voucher.valid_until, Voucher.id)))


def to_review() -> list[Voucher]:
    """Claimed vouchers, the oldest claim first."""
    return list(db.session.scalars(
        select(Voucher).options(joinedload(Voucher.organisation), joinedload(Voucher.scheme))
        .where(Voucher.status == VoucherStatus.CLAIMED.value)
        .order_by(Voucher.claimed_at, Voucher.id)))


"""Use cases of organisations: register one, keep its profile and size data, its related
enterprises, its members and its documents, and the region's list of S3 domains.

One function per use case. Each loads what it needs, checks at object level that the
actor may do it (owners manage their organisation; members see it and add documents;
programme staff and admins may do anything), changes, records it in the audit log and
flushes; the caller commits. The size class is computed by the pure rule in `sme.py`
and stored on the organisation each time its figures change. VAT and registration
numbers are checked with python-stdnum and kept in one compact form, unique.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal

from flask import abort, url_for
from flask_babel import format_decimal, get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import InvalidChecksum
from stdnum.exceptions import ValidationError as StdnumError

from opsapp.accounts import sme
from opsapp.accounts.models import (
    Membership,
    MembershipRole,
    Organisation,
    OrganisationKind,
    OwnershipLink,
    S3Domain,
    User,
)
from opsapp.core import audit, files
from opsapp.core.models import AuditEntry, StoredFile
from opsapp.core.money import format_money
from opsapp.core.notifications import notify
from opsapp.core.pagination import Page, paginate
from opsapp.core.permissions import require
from opsapp.core.roles import PROGRAMME_STAFF, Role
from opsapp.core.timeline import TimelineEntry, audit_rows
from opsapp.extensions import db

DOCUMENT_PURPOSE = "organisation_document"


class OrganisationError(Exception):
    """A refusal with a message for the user; `field` names the form field it belongs to."""

    def __init__(self, message, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


# --- VAT and registration numbers, NUTS-2 codes ------------------------------------

EU_COUNTRIES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)
# Greece is GR in ISO 3166 but EL in VAT numbers and NUTS codes; NUTS also keeps UK.
_EU_CODE = {"GR": "EL", "GB": "UK"}
_SEPARATORS = re.compile(r"[\s.\-/]")
_REGISTRATION = re.compile(r"[A-Z0-9]{4,32}")
_NUTS2 = re.compile(r"[A-Z]{2}[A-Z0-9]{2}")
_NACE = re.compile(r"[A-U]?\d{2}(\.\d{1,2})?")


def registration_number(country: str, raw: str) -> str:
    """The VAT number (EU) or registration number (elsewhere) in its one stored form.

    In the EU the VAT number is checked with its check digits and kept compact with the
    country prefix (typed with or without it: "00743110157" in Italy is "IT00743110157").
    Elsewhere, 4 to 32 letters and digits, kept without spaces, dots or dashes.
    """
    country = (country or "").strip().upper()
    text = _SEPARATORS.sub("", raw or "").upper()
    if not text:
        raise OrganisationError(_l("Enter the VAT or registration number."), "vat_number")
    if country not in EU_COUNTRIES:
        if not _REGISTRATION.fullmatch(text):
            raise OrganisationError(
                _l("Enter the registration number as 4 to 32 letters and digits."), "vat_number")
        return text
    prefix = _EU_CODE.get(country, country)
    if country == "GR" and text.startswith("GR"):
        text = "EL" + text[2:]
    candidate = text if text.startswith(prefix) else prefix + text
    try:
        return eu_vat.validate(candidate)
    except InvalidChecksum:
        raise OrganisationError(
            _l("The check digit of this VAT number is wrong. Look for a typing mistake."), "vat_number") from None
    except StdnumError:
        other = _other_country_of(text)
        if other:
            raise OrganisationError(
                _l("This is a VAT number of another country (%(code)s). Check the country.", code=other),
                "vat_number") from None
        raise OrganisationError(_l("This is not a valid VAT number for this country."), "vat_number") from None


def _other_country_of(text: str) -> str | None:
    if len(text) > 2 and text[:2].isalpha() and eu_vat.is_valid(text):
        return text[:2]
    return None


def nuts2_region(country: str, raw: str | None) -> str | None:
    """A NUTS-2 code ("ITC1") of the organisation's country; required in the EU, where eligibility uses it."""
    country = (country or "").strip().upper()
    code = (raw or "").strip().upper()
    if not code:
        if country in EU_COUNTRIES:
            raise OrganisationError(
                _l("Enter the NUTS-2 region of the registered seat (for example ITC1 for Piemonte)."),
                "nuts2_region")
        return None
    expected = _EU_CODE.get(country, country)
    if not _NUTS2.fullmatch(code) or code[:2] != expected:
        raise OrganisationError(
            _l("A NUTS-2 code is 4 characters and starts with %(prefix)s, for example %(example)s.",
               prefix=expected, example=expected + "C1" if expected == "IT" else expected + "11"),
            "nuts2_region")
    return code


def nace_code(raw: str | None) -> str | None:
    code = (raw or "").strip().upper()
    if not code:
        return None
    if not _NACE.fullmatch(code):
        raise OrganisationError(_l("Write the NACE code like 62.01 or C25.62."), "nace_code")
    return code


# --- who may do what ---------------------------------------------------------------


def is_programme_staff(user) -> bool:
    return bool(user.is_authenticated and user.has_role(*PROGRAMME_STAFF))


def _membership_row(user_id: int, organisation_id: int) -> Membership | None:
    return db.session.scalar(select(Membership).where(
        Membership.user_id == user_id, Membership.organisation_id == organisation_id))


def membership_of(user, organisation: Organisation) -> Membership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return _membership_row(user.id, organisation.id)


def can_view(user, organisation: Organisation) -> bool:
    return is_programme_staff(user) or membership_of(user, organisation) is not None


def can_manage(user, organisation: Organisation) -> bool:
    """Profile, size data, related enterprises and members: owners, staff and admins."""
    if is_programme_staff(user):
        return True
    membership = membership_of(user, organisation)
    return membership is not None and membership.role == MembershipRole.OWNER


def can_upload(user, organisation: Organisation) -> bool:
    return can_view(user, organisation)


def can_delete_document(user, organisation: Organisation, stored: StoredFile) -> bool:
    return can_manage(user, organisation) or (
        stored.uploaded_by_id == user.id and membership_of(user, organisation) is not None)


def _member_may_download(user, stored: StoredFile) -> bool:
    return stored.organisation_id is not None and _membership_row(user.id, stored.organisation_id) is not None


files.register_access_rule(DOCUMENT_PURPOSE, _member_may_download)


def get_organisation(organisation_id: int) -> Organisation:
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None or organisation.anonymised_at is not None:
        abort(404)
    return organisation


def for_viewing(actor, organisation_id: int) -> Organisation:
    organisation = get_organisation(organisation_id)
    require(can_view(actor, organisation))
    return organisation


def for_managing(actor, organisation_id: int) -> Organisation:
    organisation = get_organisation(organisation_id)
    require(can_manage(actor, organisation))
    return organisation


def organisations_of(user) -> list[Organisation]:
    return list(db.session.scalars(
        select(Organisation).join(Membership).where(
            Membership.user_id == user.id, Organisation.anonymised_at.is_(None))
        .order_by(Membership.id)))


# --- profile -----------------------------------------------------------------------


@dataclass
class Profile:
    """What the organisation form sends: the profile without the size data."""

    kind: str
    legal_name: str
    vat_number: str
    country: str
    nuts2_region: str | None = None
    address: str | None = None
    city: str | None = None
    postcode: str | None = None
    website: str | None = None
    founding_date: date | None = None
    nace_code: str | None = None
    description: str | None = None
    s3_domain_ids: list[int] = field(default_factory=list)

    @classmethod
    def from_mapping(cls, data: Mapping) -> Profile:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


_PROFILE_COLUMNS = ("kind", "legal_name", "vat_number", "country", "nuts2_region", "address", "city",
                    "postcode", "website", "founding_date", "nace_code", "description")


def create_organisation(actor, profile: Profile) -> Organisation:
    """Register an organisation. An applicant or buyer who registers it becomes its owner;
    staff registering one on someone's behalf do not (they add the owner as a member)."""
    require(actor.has_role(Role.APPLICANT, Role.BUYER, *PROGRAMME_STAFF))
    organisation = Organisation(public_control=False)
    _apply_profile(organisation, profile)
    db.session.add(organisation)
    _flush_keeping_vat_unique()
    if actor.has_role(Role.APPLICANT, Role.BUYER):
        db.session.add(Membership(user_id=actor.id, organisation_id=organisation.id, role=MembershipRole.OWNER))
        db.session.flush()
    audit.record("organisation.created", organisation, actor=actor, legal_name=organisation.legal_name,
                 kind=organisation.kind, vat_number=organisation.vat_number)
    return organisation


def update_profile(actor, organisation: Organisation, profile: Profile) -> dict:
    require(can_manage(actor, organisation))
    changes = _apply_profile(organisation, profile)
    _flush_keeping_vat_unique()
    if changes:
        audit.record("organisation.updated", organisation, actor=actor, changes=changes)
    return changes


def _apply_profile(organisation: Organisation, profile: Profile) -> dict:
    """Check and copy the profile onto the organisation; returns {field: [old, new]} of what changed."""
    if profile.kind not in set(OrganisationKind):
        raise OrganisationError(_l("Choose a kind of organisation."), "kind")
    legal_name = (profile.legal_name or "").strip()
    if not legal_name:
        raise OrganisationError(_l("Enter the legal name."), "legal_name")
    if profile.founding_date and profile.founding_date > date.today():
        raise OrganisationError(_l("The founding date cannot be in the future."), "founding_date")
    country = (profile.country or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise OrganisationError(_l("Choose the country."), "country")
    values = {
        "kind": profile.kind,
        "legal_name": legal_name,
        "country": country,
        "vat_number": registration_number(country, profile.vat_number),
        "nuts2_region": nuts2_region(country, profile.nuts2_region),
        "nace_code": nace_code(profile.nace_code),
        "founding_date": profile.founding_date,
        **{name: _blank_to_none(getattr(profile, name))
           for name in ("address", "city", "postcode", "website", "description")},
    }
    _check_vat_free(values["vat_number"], organisation.id)
    # Every query before the first change: an autoflush must not write half a profile.
    domains = _s3_domains_for(profile.s3_domain_ids, keep=organisation.s3_domains)
    changes = {}
    for name in _PROFILE_COLUMNS:
        old = getattr(organisation, name)
        if old != values[name]:
            changes[name] = [old, values[name]]
            setattr(organisation, name, values[name])
    old_codes, new_codes = sorted(d.code for d in organisation.s3_domains), sorted(d.code for d in domains)
    if new_codes != old_codes:
        changes["s3_domains"] = [old_codes, new_codes]
        organisation.s3_domains = domains
    return changes


def _blank_to_none(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _s3_domains_for(ids: Iterable[int], keep: Iterable[S3Domain] = ()) -> list[S3Domain]:
    """The chosen domains; a deactivated one stays only if the organisation already had it."""
    wanted = {int(i) for i in ids or ()}
    if not wanted:
        return []
    kept = {d.id for d in keep}
    rows = db.session.scalars(select(S3Domain).where(S3Domain.id.in_(wanted)).order_by(S3Domain.name_en))
    domains = [d for d in rows if d.active or d.id in kept]
    if len(domains) != len(wanted):
        raise OrganisationError(_l("Choose S3 domains from the list."), "s3_domain_ids")
    return domains


def _check_vat_free(vat_number: str, organisation_id: int | None) -> None:
    query = select(Organisation.id).where(Organisation.vat_number == vat_number)
    if organisation_id is not None:
        query = query.where(Organisation.id != organisation_id)
    if db.session.scalar(query) is not None:
        raise _duplicate_vat()


def _duplicate_vat() -> OrganisationError:
    return OrganisationError(
        _l("An organisation with this VAT or registration number is already registered. "
           "Ask its owner to add you as a member, or write to the programme staff."), "vat_number")


def _flush_keeping_vat_unique() -> None:
    # The check above answers the common case; the unique constraint decides a race
    # between two registrations of the same number, and the loser gets the same message.
    # The session is then unusable until the caller rolls back, as the views do.
    try:
        db.session.flush()
    except IntegrityError as error:
        if "vat_number" in str(error.orig):
            raise _duplicate_vat() from None
        raise


# --- size data and related enterprises ---------------------------------------------


def assess(organisation: Organisation) -> sme.SizeAssessment:
    """The size class with its reasons, from the figures stored now."""
    own = sme.Figures(organisation.staff_headcount, organisation.annual_turnover, organisation.balance_sheet_total)
    related = [
        sme.RelatedEnterprise(link.enterprise_name, link.share_percent,
                              sme.Figures(link.staff_headcount, link.annual_turnover, link.balance_sheet_total))
        for link in organisation.ownership_links
    ]
    return sme.classify(own, related, public_control=bool(organisation.public_control))


def _refresh_size_class(organisation: Organisation) -> sme.SizeAssessment:
    result = assess(organisation)
    organisation.size_class = result.size_class.value if result.size_class else None
    return result


@dataclass
class SizeData:
    staff_headcount: Decimal | None
    annual_turnover: Decimal | None
    balance_sheet_total: Decimal | None
    public_control: bool = False


def save_size_data(actor, organisation: Organisation, data: SizeData) -> sme.SizeAssessment:
    require(can_manage(actor, organisation))
    for name in ("staff_headcount", "annual_turnover", "balance_sheet_total"):
        value = getattr(data, name)
        if value is not None and value < 0:
            raise OrganisationError(_l("Enter a number that is zero or more."), name)
    before = organisation.size_class
    organisation.staff_headcount = data.staff_headcount
    organisation.annual_turnover = data.annual_turnover
    organisation.balance_sheet_total = data.balance_sheet_total
    organisation.public_control = bool(data.public_control)
    result = _refresh_size_class(organisation)
    db.session.flush()
    audit.record("organisation.size_saved", organisation, actor=actor,
                 staff_headcount=data.staff_headcount, annual_turnover=data.annual_turnover,
                 balance_sheet_total=data.balance_sheet_total, public_control=bool(data.public_control),
                 size_class=[before, organisation.size_class])
    return result


@dataclass
class RelatedEnterpriseData:
    enterprise_name: str
    enterprise_vat: str | None
    direction: str
    share_percent: Decimal
    staff_headcount: Decimal
    annual_turnover: Decimal
    balance_sheet_total: Decimal


def add_ownership_link(actor, organisation: Organisation, data: RelatedEnterpriseData) -> OwnershipLink:
    require(can_manage(actor, organisation))
    name = (data.enterprise_name or "").strip()
    if not name:
        raise OrganisationError(_l("Enter the name of the enterprise."), "enterprise_name")
    if data.direction not in ("holds", "held"):
        raise OrganisationError(_l("Choose who holds the share."), "direction")
    if data.share_percent is None or not (Decimal(0) < data.share_percent <= Decimal(100)):
        raise OrganisationError(_l("The share is a percentage above 0 and at most 100."), "share_percent")
    for figure in ("staff_headcount", "annual_turnover", "balance_sheet_total"):
        if getattr(data, figure) is None or getattr(data, figure) < 0:
            raise OrganisationError(_l("Enter a number that is zero or more."), figure)
    before = organisation.size_class
    link = OwnershipLink(
        enterprise_name=name, enterprise_vat=_SEPARATORS.sub("", data.enterprise_vat or "").upper() or None,
        direction=data.direction, share_percent=data.share_percent, staff_headcount=data.staff_headcount,
        annual_turnover=data.annual_turnover, balance_sheet_total=data.balance_sheet_total,
    )
    organisation.ownership_links.append(link)
    db.session.flush()
    _refresh_size_class(organisation)
    audit.record("organisation.link_added", organisation, actor=actor, enterprise=name,
                 direction=data.direction, share_percent=data.share_percent,
                 relationship=sme.relationship_for(data.share_percent),
                 size_class=[before, organisation.size_class])
    return link


def remove_ownership_link(actor, organisation: Organisation, link_id: int) -> None:
    require(can_manage(actor, organisation))
    link = next((li for li in organisation.ownership_links if li.id == link_id), None)
    if link is None:
        abort(404)
    before = organisation.size_class
    organisation.ownership_links.remove(link)
    db.session.flush()
    _refresh_size_class(organisation)
    audit.record("organisation.link_removed", organisation, actor=actor, enterprise=link.enterprise_name,
                 share_percent=link.share_percent, size_class=[before, organisation.size_class])


SIZE_CLASS_LABELS = {
    sme.SizeClass.MICRO: _l("Micro enterprise"),
    sme.SizeClass.SMALL: _l("Small enterprise"),
    sme.SizeClass.MEDIUM: _l("Medium-sized enterprise"),
    sme.SizeClass.LARGE: _l("Large enterprise"),
}
_SIZE_IN_SENTENCE = {
    sme.SizeClass.MICRO: _l("a micro enterprise"),
    sme.SizeClass.SMALL: _l("a small enterprise"),
    sme.SizeClass.MEDIUM: _l("a medium-sized enterprise"),
}
FIGURE_LABELS = {
    "staff_headcount": _l("staff headcount"),
    "annual_turnover": _l("annual turnover"),
    "balance_sheet_total": _l("balance-sheet total"),
}


def size_class_label(value: str | None) -> str:
    return str(SIZE_CLASS_LABELS[sme.SizeClass(value)]) if value else str(_l("Not classified"))


def explain(result: sme.SizeAssessment) -> list[str]:
    """The reasons of an assessment as sentences in the user's language."""
    return [_sentence(reason) for reason in result.reasons]


def _sentence(reason: sme.Reason) -> str:
    p = reason.params
    code = sme.ReasonCode
    if reason.code is code.PUBLIC_CONTROL:
        return str(_l("Public bodies control %(share)s%% or more of the capital or voting rights, so this is not "
                      "an SME (Recommendation 2003/361/EC, Art. 3(4)).", share=format_number(sme.PARTNER_FROM)))
    if reason.code is code.MISSING:
        figures = ", ".join(str(FIGURE_LABELS[n]) for n in p["figures"])
        if p["enterprise"] is None:
            return str(_l("Cannot classify: the %(figures)s of this organisation are missing.", figures=figures))
        return str(_l("Cannot classify: the %(figures)s of %(name)s are missing.", figures=figures,
                      name=p["enterprise"]))
    if reason.code is code.RELATED_IGNORED:
        return str(_l("%(name)s (%(share)s%%): under 25%%, so not counted.", name=p["name"],
                      share=format_number(p["share"])))
    if reason.code is code.RELATED_PRO_RATA:
        return str(_l("%(name)s (%(share)s%%) is a partner enterprise: %(share)s%% of its figures counted "
                      "(%(staff)s AWU, turnover %(turnover)s, balance sheet %(balance)s).",
                      name=p["name"], share=format_number(p["share"]), **_figure_words(p)))
    if reason.code is code.RELATED_IN_FULL:
        return str(_l("%(name)s (%(share)s%%) is a linked enterprise: its figures counted in full "
                      "(%(staff)s AWU, turnover %(turnover)s, balance sheet %(balance)s).",
                      name=p["name"], share=format_number(p["share"]), **_figure_words(p)))
    if reason.code is code.TOTALS:
        return str(_l("Figures counted together: %(staff)s AWU, turnover %(turnover)s, balance-sheet total "
                      "%(balance)s.", **_figure_words(p)))
    if reason.code is code.STAFF_NOT_BELOW:
        return str(_l("Not %(size)s: %(staff)s AWU is not fewer than %(limit)s.",
                      size=_SIZE_IN_SENTENCE[p["size_class"]], staff=format_number(p["staff"]),
                      limit=format_number(p["limit"])))
    if reason.code is code.FINANCE_OVER:
        return str(_l("Not %(size)s: turnover %(turnover)s is over %(turnover_max)s and balance-sheet total "
                      "%(balance)s is over %(balance_max)s.", size=_SIZE_IN_SENTENCE[p["size_class"]],
                      turnover=_money(p["turnover"]), turnover_max=_money(p["turnover_max"]),
                      balance=_money(p["balance"]), balance_max=_money(p["balance_max"])))
    return str(_l("%(size)s: %(staff)s AWU is fewer than %(limit)s and the %(measure)s of %(amount)s is "
                  "within %(ceiling)s.", size=SIZE_CLASS_LABELS[p["size_class"]], staff=format_number(p["staff"]),
                  limit=format_number(p["limit"]), measure=FIGURE_LABELS[p["measure"]], amount=_money(p["amount"]),
                  ceiling=_money(p["ceiling"])))


def _figure_words(p: Mapping) -> dict:
    return {"staff": format_number(p["staff"]), "turnover": _money(p["turnover"]), "balance": _money(p["balance"])}


def _locale() -> str:
    return str(get_locale() or "en")


def _money(amount) -> str:
    return format_money(amount, _locale())


def format_number(value) -> str:
    # Babel's default pattern drops trailing zeros: 12.00 AWU reads "12", 12.50 reads "12.5".
    return format_decimal(value)


# --- members -----------------------------------------------------------------------


def members_of(organisation: Organisation) -> list[Membership]:
    return list(db.session.scalars(
        select(Membership).options(joinedload(Membership.user))
        .where(Membership.organisation_id == organisation.id).order_by(Membership.id)))


def add_member(actor, organisation: Organisation, email: str, role: str, position: str | None = None) -> Membership:
    require(can_manage(actor, organisation))
    if role not in set(MembershipRole):
        raise OrganisationError(_l("Choose a role."), "role")
    user = db.session.scalar(select(User).where(func.lower(User.email) == (email or "").strip().lower()))
    if user is None or not user.is_active:
        raise OrganisationError(
            _l("No account uses this e-mail. Ask the person to create an account first, then add them."), "email")
    if membership_of(user, organisation) is not None:
        raise OrganisationError(_l("This person is already a member."), "email")
    membership = Membership(user_id=user.id, organisation_id=organisation.id, role=role,
                            position=_blank_to_none(position))
    db.session.add(membership)
    db.session.flush()
    audit.record("organisation.member_added", organisation, actor=actor, user_id=user.id, email=user.email,
                 role=role)
    notify(user, _l("You were added to %(name)s", name=organisation.legal_name), "generic",
           link=url_for("accounts.organisation_detail", organisation_id=organisation.id),
           message=_l("%(actor)s added you to %(name)s as %(role)s.", actor=actor.display_name,
                      name=organisation.legal_name, role=MEMBERSHIP_ROLE_LABELS[MembershipRole(role)]))
    return membership


MEMBERSHIP_ROLE_LABELS = {
    MembershipRole.OWNER: _l("owner (manages the profile and the members)"),
    MembershipRole.MEMBER: _l("member"),
}


def _membership(organisation: Organisation, membership_id: int) -> Membership:
    membership = db.session.get(Membership, membership_id)
    if membership is None or membership.organisation_id != organisation.id:
        abort(404)
    return membership


def _owners_left_without(organisation: Organisation, membership: Membership) -> int:
    return db.session.scalar(select(func.count(Membership.id)).where(
        Membership.organisation_id == organisation.id, Membership.role == MembershipRole.OWNER,
        Membership.id != membership.id)) or 0


def remove_member(actor, organisation: Organisation, membership_id: int) -> None:
    membership = _membership(organisation, membership_id)
    # Owners manage members; anyone may leave an organisation on their own.
    require(can_manage(actor, organisation) or membership.user_id == actor.id)
    if membership.role == MembershipRole.OWNER and not _owners_left_without(organisation, membership):
        raise OrganisationError(_l("An organisation keeps at least one owner. Make someone else owner first."))
    email = membership.user.email
    db.session.delete(membership)
    db.session.flush()
    audit.record("organisation.member_removed", organisation, actor=actor, user_id=membership.user_id, email=email)


def change_member_role(actor, organisation: Organisation, membership_id: int, role: str) -> None:
    require(can_manage(actor, organisation))
    membership = _membership(organisation, membership_id)
    if role not in set(MembershipRole):
        raise OrganisationError(_l("Choose a role."), "role")
    if membership.role == role:
        return
    if membership.role == MembershipRole.OWNER and not _owners_left_without(organisation, membership):
        raise OrganisationError(_l("An organisation keeps at least one owner. Make someone else owner first."))
    before = membership.role
    membership.role = role
    db.session.flush()
    audit.record("organisation.member_role_changed", organisation, actor=actor, user_id=membership.user_id,
                 email=membership.user.email, role=[before, role])


# --- documents ---------------------------------------------------------------------


def documents_of(organisation: Organisation) -> list[StoredFile]:
    return list(db.session.scalars(
        select(StoredFile).where(StoredFile.organisation_id == organisation.id,
                                 StoredFile.purpose == DOCUMENT_PURPOSE)
        .order_by(StoredFile.created_at.desc(), StoredFile.id.desc())))


def _document(organisation: Organisation, file_id: int) -> StoredFile:
    stored = db.session.get(StoredFile, file_id)
    if stored is None or stored.organisation_id != organisation.id or stored.purpose != DOCUMENT_PURPOSE:
        abort(404)
    return stored


def upload_document(actor, organisation: Organisation, upload, description: str | None = None) -> StoredFile:
    require(can_upload(actor, organisation))
    try:
        stored = files.store(upload, purpose=DOCUMENT_PURPOSE, uploaded_by=actor, organisation_id=organisation.id,
                             allowed=files.DOCUMENTS, description=_blank_to_none(description))
    except files.FileRejected as error:
        raise OrganisationError(str(error), "file") from None
    audit.record("organisation.document_uploaded", organisation, actor=actor, file_id=stored.id,
                 name=stored.original_name, size=stored.size, sha256=stored.sha256)
    return stored


def document_for_download(actor, organisation_id: int, file_id: int) -> StoredFile:
    organisation = get_organisation(organisation_id)
    stored = _document(organisation, file_id)
    require(files.can_download(actor, stored))
    if not files.path_of(stored).is_file():
        abort(404)  # the record outlived its file (a failed clean-up): say "not found", not "error"
    audit.record("organisation.document_downloaded", organisation, actor=actor, file_id=stored.id,
                 name=stored.original_name)
    return stored


def delete_document(actor, organisation: Organisation, file_id: int) -> None:
    stored = _document(organisation, file_id)
    require(can_delete_document(actor, organisation, stored))
    audit.record("organisation.document_deleted", organisation, actor=actor, file_id=stored.id,
                 name=stored.original_name)
    files.delete(stored)
    db.session.flush()


# --- S3 domains --------------------------------------------------------------------

DEFAULT_S3_DOMAINS = (
    ("aerospace", "Aerospace", "Aerospazio"),
    ("automotive", "Automotive", "Automotive"),
    ("green_chemistry", "Green chemistry and cleantech", "Chimica verde e cleantech"),
    ("mechatronics", "Mechatronics", "Meccatronica"),
    ("agrifood", "Agri-food", "Agroalimentare"),
    ("textile", "Textile", "Tessile"),
    ("life_sciences", "Life sciences", "Scienze della vita"),
    ("ict", "ICT", "ICT"),
    ("energy", "Energy", "Energia"),
)


def s3_domains(active_only: bool = False) -> list[S3Domain]:
    query = select(S3Domain).order_by(S3Domain.name_en)
    if active_only:
        query = query.where(S3Domain.active.is_(True))
    return list(db.session.scalars(query))


def ensure_default_s3_domains(actor=None) -> int:
    """Add the region's nine S3 domains that are not there yet (by code); returns how many were added."""
    if actor is not None:
        require(is_programme_staff(actor))
    have = set(db.session.scalars(select(S3Domain.code)))
    added = 0
    for code, name_en, name_it in DEFAULT_S3_DOMAINS:
        if code not in have:
            db.session.add(S3Domain(code=code, name_en=name_en, name_it=name_it, active=True))
            added += 1
    db.session.flush()
    if added:
        audit.record("s3_domain.defaults_loaded", actor=actor, object_type="s3_domains", added=added)
    return added


def _s3_code(name_en: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name_en.lower()).strip("_")[:40]


def _s3_names(name_en: str, name_it: str) -> tuple[str, str]:
    name_en, name_it = (name_en or "").strip(), (name_it or "").strip()
    if not name_en:
        raise OrganisationError(_l("Enter the English name."), "name_en")
    if not name_it:
        raise OrganisationError(_l("Enter the Italian name."), "name_it")
    return name_en, name_it


def add_s3_domain(actor, name_en: str, name_it: str) -> S3Domain:
    require(is_programme_staff(actor))
    name_en, name_it = _s3_names(name_en, name_it)
    code = _s3_code(name_en)
    if not code:
        raise OrganisationError(_l("The English name needs at least one letter or digit."), "name_en")
    taken = db.session.scalar(select(S3Domain.id).where(
        or_(S3Domain.code == code, func.lower(S3Domain.name_en) == name_en.lower())))
    if taken is not None:
        raise OrganisationError(_l("This domain is already in the list."), "name_en")
    domain = S3Domain(code=code, name_en=name_en, name_it=name_it, active=True)
    db.session.add(domain)
    db.session.flush()
    audit.record("s3_domain.added", domain, actor=actor, code=code, name_en=name_en, name_it=name_it)
    return domain


def _s3_domain(domain_id: int) -> S3Domain:
    domain = db.session.get(S3Domain, domain_id)
    if domain is None:
        abort(404)
    return domain


def rename_s3_domain(actor, domain_id: int, name_en: str, name_it: str) -> S3Domain:
    """New names; the code stays, because calls and exports refer to it."""
    require(is_programme_staff(actor))
    domain = _s3_domain(domain_id)
    name_en, name_it = _s3_names(name_en, name_it)
    taken = db.session.scalar(select(S3Domain.id).where(
        func.lower(S3Domain.name_en) == name_en.lower(), S3Domain.id != domain.id))
    if taken is not None:
        raise OrganisationError(_l("Another domain has this name."), "name_en")
    before = [domain.name_en, domain.name_it]
    domain.name_en, domain.name_it = name_en, name_it
    db.session.flush()
    audit.record("s3_domain.renamed", domain, actor=actor, before=before, after=[name_en, name_it])
    return domain


def set_s3_domain_active(actor, domain_id: int, active: bool) -> S3Domain:
    """Deactivating hides a domain from new choices; organisations that have it keep it."""
    require(is_programme_staff(actor))
    domain = _s3_domain(domain_id)
    if domain.active != active:
        domain.active = active
        db.session.flush()
        audit.record("s3_domain.activated" if active else "s3_domain.deactivated", domain, actor=actor,
                     code=domain.code)
    return domain


# --- lists and export (staff) ------------------------------------------------------


@dataclass
class OrganisationFilters:
    q: str = ""
    kind: str = ""
    country: str = ""
    size_class: str = ""  # a SizeClass value, or "none" for not classified
    s3_domain: str = ""  # an S3Domain id
    region: str = ""  # "in" or "out" of the home region
    sort: str = "name"  # "name" or "newest"


def _filtered(filters: OrganisationFilters, home_region: str):
    query = select(Organisation).where(Organisation.anonymised_at.is_(None))
    if filters.q:
        text = filters.q.strip()
        query = query.where(or_(func.lower(Organisation.legal_name).contains(text.lower(), autoescape=True),
                                Organisation.vat_number.contains(_SEPARATORS.sub("", text).upper(),
                                                                 autoescape=True)))
    if filters.kind:
        query = query.where(Organisation.kind == filters.kind)
    if filters.country:
        query = query.where(Organisation.country == filters.country)
    if filters.size_class == "none":
        query = query.where(Organisation.size_class.is_(None))
    elif filters.size_class:
        query = query.where(Organisation.size_class == filters.size_class)
    if filters.s3_domain.isdigit():
        query = query.where(Organisation.s3_domains.any(S3Domain.id == int(filters.s3_domain)))
    home = home_region.upper()
    if filters.region == "in":
        query = query.where(func.upper(Organisation.nuts2_region) == home)
    elif filters.region == "out":
        query = query.where(or_(Organisation.nuts2_region.is_(None), func.upper(Organisation.nuts2_region) != home))
    if filters.sort == "newest":
        return query.order_by(Organisation.created_at.desc(), Organisation.id.desc())
    return query.order_by(func.lower(Organisation.legal_name), Organisation.id)


def list_organisations(actor, filters: OrganisationFilters, home_region: str, per_page: int = 25) -> Page:
    require(is_programme_staff(actor))
    return paginate(_filtered(filters, home_region), per_page=per_page)


CSV_COLUMNS = ("id", "legal_name", "kind", "vat_number", "country", "nuts2_region", "in_region", "city",
               "founding_date", "nace_code", "s3_domains", "staff_headcount", "annual_turnover",
               "balance_sheet_total", "public_control", "size_class", "created_at")


def export_rows(actor, filters: OrganisationFilters, home_region: str) -> list[list]:
    """The filtered list as rows under CSV_COLUMNS (for exports.csv_text / xlsx_bytes); audited."""
    require(is_programme_staff(actor))
    rows = [_csv_row(org, home_region) for org in db.session.scalars(_filtered(filters, home_region))]
    audit.record("organisations.exported", actor=actor, object_type="organisations", rows=len(rows),
                 filters={k: v for k, v in vars(filters).items() if v})
    return rows


def _csv_row(org: Organisation, home_region: str) -> list:
    return [org.id, org.legal_name, org.kind, org.vat_number, org.country, org.nuts2_region or "",
            "yes" if org.in_region(home_region) else "no", org.city or "",
            org.founding_date, org.nace_code or "",
            " ".join(sorted(d.code for d in org.s3_domains)),
            org.staff_headcount, org.annual_turnover, org.balance_sheet_total,
            org.public_control, org.size_class or "", org.created_at]


def recent_organisations(limit: int = 5) -> list[Organisation]:
    return list(db.session.scalars(
        select(Organisation).where(Organisation.anonymised_at.is_(None))
        .order_by(Organisation.created_at.desc(), Organisation.id.desc()).limit(limit)))


# --- what the pages show -----------------------------------------------------------


_COMPLETENESS = (
    ("nuts2_region", _l("NUTS-2 region")),
    ("address", _l("address")),
    ("city", _l("city")),
    ("postcode", _l("postcode")),
    ("founding_date", _l("founding date")),
    ("nace_code", _l("NACE code")),
    ("s3_domains", _l("S3 domains")),
    ("description", _l("description")),
    ("staff_headcount", _l("staff headcount")),
    ("annual_turnover", _l("annual turnover")),
    ("balance_sheet_total", _l("balance-sheet total")),
)


def _filled(value) -> bool:
    return value is not None and value != "" and value != []  # a headcount of 0 is a figure


@dataclass
class Completeness:
    percent: int
    missing: list[str]


def completeness(organisation: Organisation) -> Completeness:
    """How much of the profile is filled (legal name, number and country always are)."""
    missing = [str(label) for name, label in _COMPLETENESS if not _filled(getattr(organisation, name))]
    total = len(_COMPLETENESS) + 3
    return Completeness(round(100 * (total - len(missing)) / total), missing)


_TIMELINE_LABELS = {
    "organisation.created": _l("Organisation registered"),
    "organisation.updated": _l("Profile updated"),
    "organisation.size_saved": _l("Size data saved"),
    "organisation.link_added": _l("Related enterprise added"),
    "organisation.link_removed": _l("Related enterprise removed"),
    "organisation.member_added": _l("Member added"),
    "organisation.member_removed": _l("Member removed"),
    "organisation.member_role_changed": _l("Member's role changed"),
    "organisation.document_uploaded": _l("Document uploaded"),
    "organisation.document_deleted": _l("Document deleted"),
}


def timeline(organisation: Organisation, limit: int = 30) -> list[TimelineEntry]:
    """What happened to the organisation, newest first, from the audit log (downloads left out)."""
    rows = audit_rows(Organisation.__tablename__, organisation.id, actions=_TIMELINE_LABELS, limit=limit)
    return [TimelineEntry(entry.created_at, name, str(_TIMELINE_LABELS[entry.action]), _timeline_subject(entry))
            for entry, name in rows]


def _timeline_subject(entry: AuditEntry) -> str | None:
    d = entry.detail or {}
    if entry.action == "organisation.updated":
        return ", ".join(sorted(d.get("changes", {})))
    return d.get("email") or d.get("enterprise") or d.get("name")


@dataclass
class OrganisationPage:
    organisation: Organisation
    assessment: sme.SizeAssessment
    reasons: list[str]
    members: list[Membership]
    documents: list[StoredFile]
    timeline: list[TimelineEntry]
    completeness: Completeness
    may_manage: bool
    may_upload: bool
    kind_mismatch: bool


def organisation_page(actor, organisation_id: int) -> OrganisationPage:
    organisation = for_viewing(actor, organisation_id)
    result = assess(organisation)
    return OrganisationPage(
        organisation=organisation, assessment=result, reasons=explain(result),
        members=members_of(organisation), documents=documents_of(organisation),
        timeline=timeline(organisation), completeness=completeness(organisation),
        may_manage=can_manage(actor, organisation), may_upload=can_upload(actor, organisation),
        kind_mismatch=kind_mismatch(organisation.kind, result.size_class),
    )


def kind_mismatch(kind: str, size_class: sme.SizeClass | None) -> bool:
    """The registered kind says SME or start-up but the figures say large, or the other way round."""
    if size_class is None:
        return False
    if kind in (OrganisationKind.STARTUP, OrganisationKind.SME):
        return size_class is sme.SizeClass.LARGE
    return kind == OrganisationKind.LARGE_COMPANY and size_class.is_sme


def s3_domain_choices(organisation: Organisation | None = None) -> list[S3Domain]:
    """Domains offered in the profile form: the active ones, plus any the organisation already has."""
    have = {d.id for d in organisation.s3_domains} if organisation is not None else set()
    return [d for d in s3_domains() if d.active or d.id in have]

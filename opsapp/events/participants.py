"""Use cases of an event's participants: the staff's list (filters, export), adding the
selected SMEs of the event's call, inviting an SME or a buyer by e-mail (which creates or
links the account and the organisation), withdrawing a participant, the participant's
profile (completing it registers the participant), its availability over the slot grid,
and the pitch and negotiation training sessions with their attendance.

Each function checks who may act (staff; or a member of the participating organisation
for its own profile and availability, within the event's deadlines), changes, audits,
notifies and flushes; the view commits. Refusals are `EventError`s naming their field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from babel import Locale
from flask import abort, current_app
from flask_babel import get_locale, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from opsapp.accounts import organisations, tokens
from opsapp.accounts.models import (
    Membership,
    MembershipRole,
    Organisation,
    OrganisationKind,
    S3Domain,
    TokenPurpose,
    User,
)
from opsapp.accounts.services import find_by_email, normalise_email
from opsapp.calls.models import Application, Outcome, PlaceStatus
from opsapp.core import audit, exports
from opsapp.core.notifications import notify
from opsapp.core.pagination import Page, paginate
from opsapp.core.permissions import require
from opsapp.core.roles import Role
from opsapp.core.timeutil import local_to_utc, to_local, utcnow
from opsapp.events import permissions, states
from opsapp.events.models import (
    Event,
    EventPhase,
    EventSlot,
    Meeting,
    MeetingRequest,
    MeetingStatus,
    Participant,
    ParticipantStatus,
    RequestStatus,
    Side,
    TrainingAttendance,
    TrainingKind,
    TrainingSession,
)
from opsapp.events.notices import notify_participant, notify_participants
from opsapp.events.pages import EventError, path_for
from opsapp.extensions import db

P = EventPhase
SIDE_KINDS = {
    Side.SME: (OrganisationKind.SME, OrganisationKind.STARTUP),
    Side.BUYER: (OrganisationKind.CORPORATE_BUYER, OrganisationKind.PUBLIC_BUYER),
}
# Codes Babel knows that are not countries (the EU, the UN, unknown, outlying Oceania...).
_NOT_COUNTRIES = {"EU", "EZ", "UN", "ZZ", "QO", "XA", "XB"}
_CODES = re.compile(r"[\s,;]+")


def _require_staff(actor) -> None:
    require(permissions.is_staff(actor))


def home_region() -> str:
    return str(current_app.config.get("HOME_REGION_NUTS2", "ITC1")).upper()


def outside_region_default(organisation: Organisation) -> bool | None:
    """Whether the organisation is evidently outside the region: by its NUTS-2 code, or by a
    country other than the region's; None when it cannot be told."""
    region = home_region()
    if organisation.nuts2_region:
        return organisation.nuts2_region.upper() != region
    if organisation.country and organisation.country.upper() != region[:2]:
        return True
    return None


# --- the profile's state ---------------------------------------------------------------------


def profile_complete(participant: Participant) -> bool:
    """A profile with a headline, the offer (SME) or needs (buyer) and an S3 domain: registered."""
    text = participant.offer if participant.side == Side.SME.value else participant.needs
    return bool((participant.headline or "").strip() and (text or "").strip() and participant.s3_domains)


def may_edit_profile(participant: Participant, now: datetime | None = None) -> bool:
    """Whether the participant itself may still change its profile (staff always may)."""
    event = participant.event
    if event.status is P.CLOSED or participant.status == ParticipantStatus.WITHDRAWN.value:
        return False
    deadline = event.registration_deadline
    return deadline is None or (now or utcnow()) <= deadline


# --- the list -------------------------------------------------------------------------------


@dataclass
class ParticipantFilters:
    side: str = ""
    status: str = ""
    outside: str = ""  # "yes" or "no"

    def as_args(self) -> dict:
        return {k: v for k, v in (("side", self.side), ("status", self.status), ("outside", self.outside)) if v}


def _filtered(event: Event, filters: ParticipantFilters):
    query = (select(Participant).join(Organisation, Organisation.id == Participant.organisation_id)
             .where(Participant.event_id == event.id)
             .options(joinedload(Participant.organisation), joinedload(Participant.contact),
                      selectinload(Participant.s3_domains)))
    if filters.side in {s.value for s in Side}:
        query = query.where(Participant.side == filters.side)
    if filters.status in {s.value for s in ParticipantStatus}:
        query = query.where(Participant.status == filters.status)
    if filters.outside == "yes":
        query = query.where(Participant.outside_region.is_(True))
    elif filters.outside == "no":
        query = query.where(Participant.outside_region.is_(False))
    return query.order_by(Participant.side.desc(), func.lower(Organisation.legal_name), Participant.id)


def participant_list(actor, event: Event, filters: ParticipantFilters, per_page: int = 50) -> Page:
    _require_staff(actor)
    return paginate(_filtered(event, filters), per_page)


EXPORT_COLUMNS = (_l("Participant"), _l("Side"), _l("Organisation"), _l("VAT or registration number"), _l("Country"),
                  _l("Contact"), _l("Contact e-mail"), _l("Status"), _l("Outside the region"), _l("Profile complete"),
                  _l("S3 domains"), _l("Countries of interest"), _l("Languages"), _l("Registered"),
                  _l("Checked in"))


def export(actor, event: Event, filters: ParticipantFilters, fmt: str) -> tuple[str, str | bytes]:
    """The participants (filtered) as CSV or XLSX, in the reader's language: (filename, content); audited."""
    _require_staff(actor)
    header = [str(h) for h in EXPORT_COLUMNS]

    def local(value):  # in the event's zone, as every page shows it (a spreadsheet has no zones)
        return to_local(value, event.timezone).replace(tzinfo=None) if value else None

    rows = []
    for p in db.session.scalars(_filtered(event, filters)).unique():
        contact = p.contact
        rows.append([p.id, p.side_enum.label, p.organisation.legal_name, p.organisation.vat_number,
                     p.organisation.country, contact.full_name if contact else None,
                     contact.email if contact else None, ParticipantStatus(p.status).label, p.outside_region,
                     profile_complete(p), ", ".join(d.code for d in p.s3_domains), ", ".join(p.countries or []),
                     ", ".join(p.languages or []), local(p.registered_at), local(p.checked_in_at)])
    audit.record("events.participants_exported", event, actor=actor, rows=len(rows), format=fmt,
                 filters=filters.as_args())
    filename = f"event-{event.id}-participants.{fmt}"
    if fmt == "xlsx":
        return filename, exports.xlsx_bytes([(str(_l("Participants")), header, rows)])
    return filename, exports.csv_text(header, rows)


# --- adding participants ----------------------------------------------------------------------


def _refuse_when_over(event: Event) -> None:
    if event.status in (P.FOLLOW_UP, P.CLOSED):
        raise EventError(_l("Participants can no longer be added: the event is over."))


def _contact_of(application: Application) -> User | None:
    if application.created_by is not None and application.created_by.is_active:
        return application.created_by
    members = sorted(application.organisation.memberships, key=lambda m: (m.role != MembershipRole.OWNER, m.id))
    return next((m.user for m in members if m.user.is_active), None)


def add_selected_smes(actor, event: Event) -> int:
    """Add the SMEs selected by the event's call (and that accepted the place when one was offered);
    those already in the event are skipped, so doing it twice adds nothing. Returns how many were added."""
    _require_staff(actor)
    _refuse_when_over(event)
    if event.call_id is None:
        raise EventError(_l("This event names no call: choose the decided call in the event's design first."))
    applications = list(db.session.scalars(
        select(Application).where(Application.call_id == event.call_id, Application.outcome == Outcome.SELECTED.value,
                                  or_(Application.place_status.is_(None),
                                      Application.place_status == PlaceStatus.ACCEPTED.value))
        .options(joinedload(Application.created_by), joinedload(Application.organisation)
                 .selectinload(Organisation.memberships).joinedload(Membership.user))
        .order_by(Application.id)).unique())
    present = set(db.session.scalars(select(Participant.organisation_id).where(Participant.event_id == event.id)))
    added = []
    for application in applications:
        if application.organisation_id in present:
            continue
        present.add(application.organisation_id)
        contact = _contact_of(application)
        participant = Participant(
            event_id=event.id, organisation_id=application.organisation_id, side=Side.SME.value,
            status=ParticipantStatus.INVITED.value, application_id=application.id,
            contact_id=contact.id if contact else None,
            outside_region=bool(outside_region_default(application.organisation)), invited_at=utcnow())
        db.session.add(participant)
        db.session.flush()
        audit.record("event_participants.added", participant, actor=actor, event_id=event.id,
                     organisation=application.organisation.legal_name, application_id=application.id)
        added.append(participant)
    if added:
        audit.record("events.participants_from_call", event, actor=actor, call_id=event.call_id, added=len(added),
                     participant_ids=[p.id for p in added])
        link = path_for("events.detail", event_id=event.id)
        for participant in added:
            db.session.refresh(participant)
        notify_participants(added, _l("You are invited to %(event)s", event=event.name), "event_invited", link=link,
                            from_call=True)
    return len(added)


@dataclass
class InvitationData:
    side: str
    full_name: str
    email: str
    legal_name: str
    country: str
    vat_number: str
    kind: str
    nuts2_region: str | None = None
    outside_region: bool | None = None  # None: decided from the organisation when evident
    locale: str | None = None


@dataclass
class InvitationResult:
    participant: Participant
    user: User
    new_account: bool
    new_organisation: bool


def invite(actor, event: Event, data: InvitationData) -> InvitationResult:
    """Invite an SME or a buyer by e-mail. A new address gets an account (applicant for an SME, buyer
    for a buyer) and an e-mail to choose a password; a known one gets the role if missing and a
    notice. The organisation is found by its VAT number or registered; the person becomes a member."""
    _require_staff(actor)
    _refuse_when_over(event)
    try:
        side = Side(data.side)
    except ValueError:
        raise EventError(_l("Choose whether you invite an SME or a buyer."), "side") from None
    email = normalise_email(data.email)
    name = (data.full_name or "").strip()
    if not email or "@" not in email:
        raise EventError(_l("Enter the e-mail address of the person to invite."), "email")
    if not name:
        raise EventError(_l("Enter the name of the person to invite."), "full_name")
    if data.kind not in {k.value for k in SIDE_KINDS[side]}:
        raise EventError(_l("Choose a kind that fits the side: SME or start-up for an SME, corporate or public "
                            "buyer for a buyer."), "kind")
    country = (data.country or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise EventError(_l("Choose the country."), "country")
    try:
        vat_number = organisations.registration_number(country, data.vat_number)
    except organisations.OrganisationError as error:
        raise EventError(error.message, "vat_number") from None
    # Every query before the first change: an autoflush must not write half an invitation.
    organisation = db.session.scalar(select(Organisation).where(Organisation.vat_number == vat_number))
    user = find_by_email(email)
    if user is not None and (user.erased_at is not None or user.disabled_at is not None):
        raise EventError(_l("This address belongs to an account that is disabled or erased; it cannot be invited."),
                         "email")
    if organisation is not None:
        if side is Side.SME and organisation.kind_enum.is_buyer:
            raise EventError(_l("%(name)s is registered as a buyer: invite it as a buyer.",
                                name=organisation.legal_name), "kind")
        existing = db.session.scalar(select(Participant).where(Participant.event_id == event.id,
                                                               Participant.organisation_id == organisation.id))
        if existing is not None and existing.status != ParticipantStatus.WITHDRAWN.value:
            raise EventError(_l("%(name)s already takes part in this event.", name=organisation.legal_name),
                             "vat_number")
    else:
        existing = None
        legal_name = (data.legal_name or "").strip()
        if not legal_name:
            raise EventError(_l("Enter the legal name of the organisation."), "legal_name")
        if len(legal_name) > 200:
            raise EventError(_l("Write at most 200 characters."), "legal_name")
        try:
            nuts2 = organisations.nuts2_region(country, data.nuts2_region) if (data.nuts2_region or "").strip() \
                else None
        except organisations.OrganisationError as error:
            raise EventError(error.message, "nuts2_region") from None

    new_organisation = organisation is None
    if new_organisation:
        organisation = Organisation(kind=data.kind, legal_name=legal_name, vat_number=vat_number, country=country,
                                    nuts2_region=nuts2, public_control=data.kind == OrganisationKind.PUBLIC_BUYER)
        try:
            with db.session.begin_nested():
                db.session.add(organisation)
        except IntegrityError:
            raise EventError(_l("An organisation with this VAT or registration number was registered a moment "
                                "ago. Send the invitation again."), "vat_number") from None
        audit.record("organisation.created", organisation, actor=actor, legal_name=organisation.legal_name,
                     kind=organisation.kind, vat_number=organisation.vat_number, why="invited to an event")
    outside = data.outside_region
    if outside is None:
        outside = outside_region_default(organisation)
        if outside is None:
            raise EventError(_l("The region of %(name)s is not known: say whether it is inside or outside the "
                                "region, or enter its NUTS-2 code.", name=organisation.legal_name), "outside_region")

    role = Role.APPLICANT if side is Side.SME else Role.BUYER
    new_account = user is None
    token_link = None
    if new_account:
        locale = data.locale if data.locale in current_app.config["LANGUAGES"] \
            else current_app.config["BABEL_DEFAULT_LOCALE"]
        user = User(email=email, full_name=name[:120], password_hash=None, locale=locale)
        user.set_roles({role})
        try:
            with db.session.begin_nested():
                db.session.add(user)
        except IntegrityError:
            raise EventError(_l("Another account already uses this e-mail address."), "email") from None
        audit.record("user.created", user, actor=actor, roles=[str(role)], locale=locale, why="invited to an event")
        token = tokens.issue(user, TokenPurpose.INVITATION)
        token_link = path_for("accounts.reset_password", token=token)
        audit.record("user.invited", user, actor=actor, event_id=event.id)
    elif not user.has_role(role):
        before = sorted(r.role for r in user.role_rows)
        user.set_roles({*user.roles, role})
        db.session.flush()
        audit.record("user.roles_changed", user, actor=actor, before=before,
                     after=sorted(r.role for r in user.role_rows), why="invited to an event")

    membership = db.session.scalar(select(Membership).where(Membership.user_id == user.id,
                                                            Membership.organisation_id == organisation.id))
    if membership is None:
        has_members = db.session.scalar(select(func.count(Membership.id))
                                        .where(Membership.organisation_id == organisation.id)) or 0
        membership = Membership(user_id=user.id, organisation_id=organisation.id,
                                role=MembershipRole.MEMBER if has_members else MembershipRole.OWNER)
        db.session.add(membership)
        db.session.flush()
        audit.record("organisation.member_added", organisation, actor=actor, user_id=user.id, email=user.email,
                     role=str(membership.role), why="invited to an event")

    if existing is not None:  # withdrawn earlier: back in, as invited
        participant = existing
        participant.status = ParticipantStatus.INVITED.value
        participant.side = side.value
        participant.contact_id = user.id
        participant.outside_region = bool(outside)
        participant.invited_at = utcnow()
        participant.registered_at = None
    else:
        participant = Participant(event_id=event.id, organisation_id=organisation.id, side=side.value,
                                  status=ParticipantStatus.INVITED.value, contact_id=user.id,
                                  outside_region=bool(outside), invited_at=utcnow())
        db.session.add(participant)
    db.session.flush()
    audit.record("event_participants.invited", participant, actor=actor, event_id=event.id, side=side.value,
                 user_id=user.id, organisation_id=organisation.id, outside_region=bool(outside),
                 new_account=new_account, new_organisation=new_organisation)
    audit.record("events.participant_invited", event, actor=actor, participant_id=participant.id,
                 organisation=organisation.legal_name, side=side.value, email=user.email)
    db.session.refresh(participant)
    event_link = path_for("events.detail", event_id=event.id)
    subject = _l("You are invited to %(event)s", event=event.name)
    people = permissions.people_of(participant)
    if new_account:  # the new account's person chooses a password first: their own e-mail
        lifetime = current_app.config["TOKEN_LIFETIMES"][str(TokenPurpose.INVITATION)]
        notify(user, subject, "event_invitation_account", in_app=False, link=token_link, event=event,
               participant=participant, event_link=event_link, valid_days=max(1, lifetime.days))
        people = [p for p in people if p.id != user.id]
    notify_participant(participant, subject, "event_invited", link=event_link, people=people, from_call=False)
    return InvitationResult(participant, user, new_account, new_organisation)


def participant_in(event: Event, participant_id: int) -> Participant:
    participant = db.session.get(Participant, participant_id)
    if participant is None or participant.event_id != event.id:
        abort(404)
    return participant


def withdraw(actor, event: Event, participant_id: int, reason: str) -> Participant:
    """Staff take a participant out of the event; its live requests are withdrawn. Refused while it
    has meetings placed (cancel them in the schedule first)."""
    _require_staff(actor)
    participant = participant_in(event, participant_id)
    if event.status is P.CLOSED:
        raise EventError(_l("The event is closed: its participants can no longer change."))
    if participant.status == ParticipantStatus.WITHDRAWN.value:
        raise EventError(_l("%(name)s is already withdrawn.", name=participant.name))
    reason = (reason or "").strip()
    if not reason:
        raise EventError(_l("Say why the participant is withdrawn: they will read it."), "reason")
    if len(reason) > 2000:
        raise EventError(_l("Write at most 2,000 characters."), "reason")
    meetings = db.session.scalar(select(func.count(Meeting.id)).where(
        Meeting.status == MeetingStatus.SCHEDULED.value,
        or_(Meeting.sme_id == participant.id, Meeting.buyer_id == participant.id))) or 0
    if meetings:
        raise EventError(ngettext("%(name)s has %(num)d meeting placed: cancel it in the schedule first.",
                                  "%(name)s has %(num)d meetings placed: cancel them in the schedule first.",
                                  meetings, name=participant.name))
    live = list(db.session.scalars(
        select(MeetingRequest).where(or_(MeetingRequest.sme_id == participant.id,
                                         MeetingRequest.buyer_id == participant.id),
                                     MeetingRequest.status.in_((RequestStatus.PENDING.value,
                                                                RequestStatus.ACCEPTED.value)))
        .options(joinedload(MeetingRequest.sme), joinedload(MeetingRequest.buyer))))
    old = participant.status
    participant.status = ParticipantStatus.WITHDRAWN.value
    db.session.flush()
    audit.record("event_participants.withdrawn", participant, actor=actor, event_id=event.id, old=old,
                 reason=reason, requests_withdrawn=len(live))
    audit.record("events.participant_withdrawn", event, actor=actor, participant_id=participant.id,
                 organisation=participant.name, reason=reason)
    link = path_for("events.index")
    notify_participant(participant, _l("You are withdrawn from %(event)s", event=event.name), "event_withdrawn",
                       link=link, reason=reason)
    for request in live:
        states.transition(request, RequestStatus.WITHDRAWN, actor=actor, why="participant withdrawn")
        other = request.buyer if request.sme_id == participant.id else request.sme
        if other.status != ParticipantStatus.WITHDRAWN.value:
            notify_participant(other, _l("A meeting request at %(event)s is withdrawn", event=event.name),
                               "event_request_dropped", link=path_for("events.requests", event_id=event.id),
                               counterpart=participant.name)
    return participant


# --- the profile ---------------------------------------------------------------------------------


def country_names() -> dict[str, str]:
    names = Locale.parse(str(get_locale() or "en")).territories
    return {code: name for code, name in names.items()
            if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES}


def language_names() -> dict[str, str]:
    names = Locale.parse(str(get_locale() or "en")).languages
    return {code: name for code, name in names.items() if len(code) == 2 and code.isalpha()}


def parse_codes(text: str | None, known: dict[str, str], field_name: str, upper: bool) -> list[str]:
    codes = []
    for token in _CODES.split((text or "").strip()):
        if not token:
            continue
        code = token.upper() if upper else token.lower()
        if code not in known:
            if field_name == "countries":
                raise EventError(_l("“%(code)s” is not a country code: write two letters like IT, FR, DE.",
                                    code=token), field_name)
            raise EventError(_l("“%(code)s” is not a language code: write two letters like it, en, fr.",
                                code=token), field_name)
        if code not in codes:
            codes.append(code)
    if len(codes) > 60:
        raise EventError(_l("Name at most 60 codes."), field_name)
    return codes


@dataclass
class ProfileData:
    headline: str | None
    text: str | None  # the SME's offer, the buyer's needs
    s3_domain_ids: list[int]
    countries: str
    languages: str
    max_meetings: int | None = None
    set_max_meetings: bool = False  # staff only


def profile_of(actor, event: Event, participant_id: int | None) -> Participant:
    """The participant whose profile (or availability) the actor opens: their own; staff any of
    the event's, named by id. Anyone else's answers 404."""
    if participant_id is not None:
        participant = participant_in(event, participant_id)
        if permissions.is_staff(actor) or (permissions.speaks_for(actor, participant)
                                           and participant.status != ParticipantStatus.WITHDRAWN.value):
            return participant
        abort(404)
    participant = permissions.participant_of(actor, event)
    if participant is None:
        abort(404)
    return participant


def may_change_profile(actor, participant: Participant, now: datetime | None = None) -> bool:
    """Staff until the event closes; a member of the participant within `design.may_edit_profile`."""
    if permissions.is_staff(actor):
        return participant.event.status is not P.CLOSED
    return permissions.speaks_for(actor, participant) and may_edit_profile(participant, now)


def save_profile(actor, participant: Participant, data: ProfileData, now: datetime | None = None) -> bool:
    """Save the profile; returns True when this save registered the participant."""
    now = now or utcnow()
    staff = permissions.is_staff(actor)
    require(staff or permissions.speaks_for(actor, participant))
    if participant.event.status is P.CLOSED:
        raise EventError(_l("The event is closed: profiles can no longer change."))
    if not may_change_profile(actor, participant, now):
        raise EventError(_l("The registration deadline has passed: only the programme staff can change the profile "
                            "now. Write to them if something is wrong."))
    side = participant.side_enum
    text_field = "offer" if side is Side.SME else "needs"
    headline = (data.headline or "").strip() or None
    text = (data.text or "").strip() or None
    if headline and len(headline) > 200:
        raise EventError(_l("Write at most 200 characters."), "headline")
    if text and len(text) > 5000:
        raise EventError(_l("Write at most 5,000 characters."), text_field)
    wanted = {int(i) for i in data.s3_domain_ids or ()}
    have = {d.id for d in participant.s3_domains}
    domains = list(db.session.scalars(select(S3Domain).where(S3Domain.id.in_(wanted)).order_by(S3Domain.code))) \
        if wanted else []
    domains = [d for d in domains if d.active or d.id in have]
    if len(domains) != len(wanted):
        raise EventError(_l("Choose S3 domains from the list."), "s3_domain_ids")
    countries = parse_codes(data.countries, country_names(), "countries", upper=True)
    languages = parse_codes(data.languages, language_names(), "languages", upper=False)
    max_meetings = participant.max_meetings
    if data.set_max_meetings:
        require(staff)
        if data.max_meetings is not None and not 0 <= data.max_meetings <= 500:
            raise EventError(_l("Enter a number from 0 to 500, or leave it empty for the event's limit."),
                             "max_meetings")
        max_meetings = data.max_meetings
    registered = participant.status == ParticipantStatus.REGISTERED.value
    complete = bool(headline and text and domains)
    if registered and not complete:
        missing = "headline" if not headline else text_field if not text else "s3_domain_ids"
        raise EventError(_l("A registered participant's profile needs a headline, the %(what)s and at least one S3 "
                            "domain.", what=_l("offer") if side is Side.SME else _l("needs")), missing)
    before = _profile_snapshot(participant)
    participant.headline = headline
    if side is Side.SME:
        participant.offer = text
    else:
        participant.needs = text
    participant.s3_domains = domains
    participant.countries = countries
    participant.languages = languages
    participant.max_meetings = max_meetings
    db.session.flush()
    after = _profile_snapshot(participant)
    changes = {k: [before[k], v] for k, v in after.items() if before[k] != v}
    if changes:
        audit.record("event_participants.profile_saved", participant, actor=actor, event_id=participant.event_id,
                     changes=sorted(changes), max_meetings=changes.get("max_meetings"))
    newly = False
    if complete and participant.status == ParticipantStatus.INVITED.value:
        participant.status = ParticipantStatus.REGISTERED.value
        participant.registered_at = now
        db.session.flush()
        audit.record("event_participants.registered", participant, actor=actor, event_id=participant.event_id)
        newly = True
    if changes and not permissions.speaks_for(actor, participant):
        notify_participant(participant, _l("Your profile for %(event)s was updated", event=participant.event.name),
                           "event_profile_changed", link=path_for("events.profile", event_id=participant.event_id),
                           registered=newly, changed_by=actor.display_name)
    return newly


def _profile_snapshot(p: Participant) -> dict:
    return {"headline": p.headline, "offer": p.offer, "needs": p.needs,
            "s3_domains": sorted(d.code for d in p.s3_domains), "countries": list(p.countries or []),
            "languages": list(p.languages or []), "max_meetings": p.max_meetings}


def profile_choices(participant: Participant) -> list[S3Domain]:
    have = {d.id for d in participant.s3_domains}
    return [d for d in organisations.s3_domains() if d.active or d.id in have]


# --- availability ------------------------------------------------------------------------------


def availability_open_to(actor, participant: Participant) -> bool:
    phase = participant.event.status
    if permissions.is_staff(actor):
        return phase in (P.PREPARATION, P.BOOKING, P.SCHEDULING)
    return participant.status != ParticipantStatus.WITHDRAWN.value and phase in (P.PREPARATION, P.BOOKING)


@dataclass
class DayOfSlots:
    day: object  # date
    slots: list[tuple[EventSlot, datetime, datetime, bool]]  # slot, local start, local end, available


def availability_days(participant: Participant) -> list[DayOfSlots]:
    event = participant.event
    unavailable = {s.id for s in participant.unavailable_slots}
    days: dict = {}
    for slot in event.slots:
        start, end = to_local(slot.starts_at, event.timezone), to_local(slot.ends_at, event.timezone)
        days.setdefault(start.date(), []).append((slot, start, end, slot.id not in unavailable))
    return [DayOfSlots(day, slots) for day, slots in sorted(days.items())]


def save_availability(actor, participant: Participant, available_ids) -> int:
    """Store the slots the participant cannot attend (those not checked); returns how many are available."""
    staff = permissions.is_staff(actor)
    require(staff or permissions.speaks_for(actor, participant))
    if not availability_open_to(actor, participant):
        if staff:
            raise EventError(_l("The agendas are published: availability can no longer change."))
        raise EventError(_l("Booking is over: availability can no longer change. Write to the programme staff if "
                            "something is wrong."))
    slots = list(participant.event.slots)
    chosen = set()
    for value in available_ids or ():
        if str(value).isdigit():
            chosen.add(int(value))
    available = [s for s in slots if s.id in chosen]
    if not available:
        raise EventError(_l("Keep at least one slot you can attend: with none, no meeting can be placed."),
                         "available")
    unavailable = [s for s in slots if s.id not in chosen]
    busy = set(db.session.scalars(select(Meeting.slot_id).where(
        Meeting.status != MeetingStatus.CANCELLED.value,
        or_(Meeting.sme_id == participant.id, Meeting.buyer_id == participant.id))))
    clash = [s for s in unavailable if s.id in busy]
    if clash:
        when = to_local(clash[0].starts_at, participant.event.timezone)
        raise EventError(_l("A meeting is already placed at %(when)s: that slot must stay available. Move or cancel "
                            "the meeting first.", when=f"{when:%Y-%m-%d %H:%M}"), "available")
    before = {s.id for s in participant.unavailable_slots}
    participant.unavailable_slots = unavailable
    db.session.flush()
    after = {s.id for s in unavailable}
    if before != after:
        audit.record("event_participants.availability_saved", participant, actor=actor,
                     event_id=participant.event_id, available=len(available), unavailable=len(unavailable),
                     added=sorted(after - before), removed=sorted(before - after))
        if not permissions.speaks_for(actor, participant):
            notify_participant(participant,
                               _l("Your availability for %(event)s was updated", event=participant.event.name),
                               "event_availability_changed",
                               link=path_for("events.availability", event_id=participant.event_id),
                               available=len(available), total=len(slots), changed_by=actor.display_name)
    return len(available)


# --- training ------------------------------------------------------------------------------------


@dataclass
class TrainingData:
    kind: str
    title: str
    starts_at: datetime | None  # local, in the event's zone
    ends_at: datetime | None
    place: str | None = None
    trainer: str | None = None


def add_training(actor, event: Event, data: TrainingData) -> TrainingSession:
    _require_staff(actor)
    if not states.training_open(event):
        raise EventError(_l("Training sessions are planned during preparation and booking only."))
    if data.kind not in {k.value for k in TrainingKind}:
        raise EventError(_l("Choose pitch or negotiation training."), "kind")
    title = (data.title or "").strip()
    if not title:
        raise EventError(_l("Enter the title of the session."), "title")
    if len(title) > 200:
        raise EventError(_l("Write at most 200 characters."), "title")
    if data.starts_at is None:
        raise EventError(_l("Enter when the session starts."), "starts_at")
    if data.ends_at is None:
        raise EventError(_l("Enter when the session ends."), "ends_at")
    starts, ends = local_to_utc(data.starts_at, event.timezone), local_to_utc(data.ends_at, event.timezone)
    if ends <= starts:
        raise EventError(_l("The session must end after it starts."), "ends_at")
    place = (data.place or "").strip() or None
    trainer = (data.trainer or "").strip() or None
    if place and len(place) > 300:
        raise EventError(_l("Write at most 300 characters."), "place")
    if trainer and len(trainer) > 200:
        raise EventError(_l("Write at most 200 characters."), "trainer")
    session = TrainingSession(event_id=event.id, kind=data.kind, title=title, starts_at=starts, ends_at=ends,
                              place=place, trainer=trainer)
    db.session.add(session)
    db.session.flush()
    audit.record("event_training_sessions.created", session, actor=actor, event_id=event.id, title=title,
                 kind=data.kind, starts_at=starts.isoformat())
    audit.record("events.training_added", event, actor=actor, session_id=session.id, title=title)
    link = path_for("events.training", event_id=event.id)
    smes = list(db.session.scalars(
        select(Participant).where(Participant.event_id == event.id, Participant.side == Side.SME.value,
                                  Participant.status != ParticipantStatus.WITHDRAWN.value)
        .options(joinedload(Participant.organisation))))
    notify_participants(smes, _l("Training for %(event)s: %(title)s", event=event.name, title=title),
                        "event_training", link=link, session=session)
    return session


def session_in(event: Event, session_id: int) -> TrainingSession:
    session = db.session.get(TrainingSession, session_id)
    if session is None or session.event_id != event.id:
        abort(404)
    return session


def sme_participants(event: Event) -> list[Participant]:
    return list(db.session.scalars(
        select(Participant).join(Organisation, Organisation.id == Participant.organisation_id)
        .where(Participant.event_id == event.id, Participant.side == Side.SME.value,
               Participant.status != ParticipantStatus.WITHDRAWN.value)
        .options(joinedload(Participant.organisation), joinedload(Participant.contact))
        .order_by(func.lower(Organisation.legal_name))).unique())


def attendance_of(session: TrainingSession) -> dict[int, TrainingAttendance]:
    return {a.participant_id: a for a in db.session.scalars(
        select(TrainingAttendance).where(TrainingAttendance.session_id == session.id))}


def attendance_counts(event: Event) -> dict[int, int]:
    return dict(db.session.execute(
        select(TrainingAttendance.session_id, func.count())
        .join(TrainingSession, TrainingSession.id == TrainingAttendance.session_id)
        .where(TrainingSession.event_id == event.id, TrainingAttendance.attended.is_(True))
        .group_by(TrainingAttendance.session_id)).all())


def record_attendance(actor, event: Event, session: TrainingSession, present_ids) -> int:
    """Record who attended (checked) and who did not, for every SME of the event; returns how many attended."""
    _require_staff(actor)
    if event.status is P.CLOSED:
        raise EventError(_l("The event is closed: attendance can no longer change."))
    present = {int(v) for v in present_ids or () if str(v).isdigit()}
    smes = sme_participants(event)
    rows = attendance_of(session)
    now = utcnow()
    attended = []
    changed = 0
    for participant in smes:
        value = participant.id in present
        row = rows.get(participant.id)
        if row is None:
            db.session.add(TrainingAttendance(session_id=session.id, participant_id=participant.id, attended=value,
                                              recorded_at=now, recorded_by_id=actor.id))
            changed += 1
        elif row.attended != value:
            row.attended, row.recorded_at, row.recorded_by_id = value, now, actor.id
            changed += 1
        if value:
            attended.append(participant.id)
    db.session.flush()
    audit.record("event_training_sessions.attendance_recorded", session, actor=actor, event_id=event.id,
                 attended=attended, absent=[p.id for p in smes if p.id not in present], changed=changed)
    audit.record("events.attendance_recorded", event, actor=actor, session_id=session.id, title=session.title,
                 attended=len(attended))
    return len(attended)


def training_for(event: Event) -> list[TrainingSession]:
    return list(db.session.scalars(select(TrainingSession).where(TrainingSession.event_id == event.id)
                                   .order_by(TrainingSession.starts_at)))


def my_attendance(participant: Participant) -> dict[int, bool]:
    return {a.session_id: a.attended for a in db.session.scalars(
        select(TrainingAttendance).where(TrainingAttendance.participant_id == participant.id))}

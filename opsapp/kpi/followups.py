"""Follow-ups of the companies after a programme: who is followed, their baselines, the survey
waves, invitations and reminders, and the answers.

- **Enrolment** (`enrol(today)`): every member of an Accelerator cohort once the cohort ended
  (or was completed); every SME that took part in a Meet the Buyer event (checked in, or had a
  meeting that was not cancelled) once its last day passed; and, as the comparison group, the
  eligible applicants of a decided call who were not selected (rejected, or left on the reserve
  list), agreed to be contacted, and are not followed as participants of that edition, once the
  cohort or event formed from that call ended. One follow-up per company and edition (a
  unique key); the baseline is copied from the application's baseline answers.
- **Baseline corrections** (`correct_baseline`): staff only, with a reason, audited.
- **Survey waves** (`create_due_surveys(today)`): a survey per follow-up 12, 24 and 36 months
  after the end of the programme, about the last financial year closed before it; a company
  enrolled late gets every wave already due. `invite_pending(now)` tells the company's people;
  `remind_due(now)` reminds an open survey every 14 days, at most 6 times.
- **Answers** (`answer`): a member of the company answers its open survey once; staff enter or
  correct the answers on the company's behalf (audited). The figures are checked by
  `validation.py`; big changes against the previous known figures must be confirmed.
- **Reading**: the company's surveys, the staff list with its filters and response rates,
  a follow-up's page with its timeline.

Functions check rights, flush and never commit; refusals raise `FollowUpError` (someone
else's survey or follow-up answers 404).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from opsapp.accounts.models import Membership, Organisation, User
from opsapp.calls.models import (
    Answer,
    Application,
    ApplicationStatus,
    Call,
    CallAudience,
    CallStatus,
    Edition,
    Eligibility,
    Outcome,
    Programme,
    ProgrammeKind,
    Question,
)
from opsapp.cohorts.models import Cohort, CohortMember, CohortStatus
from opsapp.core import audit
from opsapp.core.models import AuditEntry
from opsapp.core.notifications import notify
from opsapp.core.pages import Refusal, path_for
from opsapp.core.pagination import Page, paginate
from opsapp.core.roles import PROGRAMME_STAFF
from opsapp.core.timeline import TimelineEntry
from opsapp.core.timeutil import DEFAULT_TZ, add_months, to_local, utcnow
from opsapp.events.models import Event, Meeting, MeetingStatus, Participant, Side
from opsapp.extensions import db
from opsapp.kpi import validation
from opsapp.kpi.models import (
    WAVES,
    BaselineSource,
    FollowUp,
    FollowUpGroup,
    FollowUpSource,
    Survey,
    SurveyStatus,
)

REMIND_EVERY = timedelta(days=14)
MAX_REMINDERS = 6
STATES = ("open", "answered", "none")  # a follow-up's surveys: one to answer, all answered, none yet
CENT = Decimal("0.01")
FTE_LIMIT = Decimal("99999999")  # what the FTE columns hold
# Survey figure -> the baseline column it is compared with.
BASELINE_COLUMN = {key: f"baseline_{name}" for key, name in validation.BASELINE_OF.items()}


class FollowUpError(Refusal):
    """A refusal by a rule of the follow-ups, with a message fit for the user."""


class AnswerProblems(FollowUpError):
    """Answers that break a rule: one message per field."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(_l("Some answers need fixing: see the messages next to the fields."))
        self.errors = errors


def is_staff(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.has_role(*PROGRAMME_STAFF))


def _staff_or_404(user) -> None:
    if not is_staff(user):
        abort(404)


def organisation_ids_of(user) -> list[int]:
    if user is None or not user.is_authenticated:
        return []
    return sorted(m.organisation_id for m in user.memberships)


def edition_label(edition: Edition, locale: str = "en") -> str:
    return f"{edition.programme.name(locale)} {edition.year}"


# --- dates ------------------------------------------------------------------------------------


def due_date(ended_on: date, wave: int) -> date:
    return add_months(ended_on, wave)


def fiscal_year_of(due_on: date) -> int:
    """The last financial year closed before the survey is due."""
    return due_on.year - 1


def _today(now: datetime) -> date:
    return to_local(now, DEFAULT_TZ).date()


def _event_days(event: Event) -> list[date]:
    days = []
    for text in event.days or []:
        try:
            days.append(date.fromisoformat(str(text)))
        except ValueError:
            continue
    return sorted(days)


# --- enrolment --------------------------------------------------------------------------------


@dataclass
class Candidate:
    organisation_id: int
    edition_id: int
    group: FollowUpGroup
    source: FollowUpSource
    source_id: int
    application_id: int | None
    started_on: date | None
    ended_on: date


def _ended(cohort: Cohort, today: date) -> bool:
    return cohort.ends_on < today or cohort.status == CohortStatus.COMPLETED.value


def _cohort_members(today: date) -> list[Candidate]:
    rows = db.session.execute(
        select(CohortMember, Cohort).join(Cohort, Cohort.id == CohortMember.cohort_id)
        .join(Edition, Edition.id == Cohort.edition_id).join(Programme, Programme.id == Edition.programme_id)
        .where(Programme.kind == ProgrammeKind.ACCELERATOR.value,
               or_(Cohort.ends_on < today, Cohort.status == CohortStatus.COMPLETED.value))
        .order_by(Cohort.ends_on, CohortMember.id))
    return [Candidate(member.organisation_id, cohort.edition_id, FollowUpGroup.PARTICIPANT, FollowUpSource.COHORT,
                      member.id, member.application_id, cohort.starts_on, cohort.ends_on)
            for member, cohort in rows]


def _ended_events(today: date) -> dict[int, tuple[Event, date, date]]:
    """Events whose last day has passed, with their first and last day."""
    ended = {}
    for event in db.session.scalars(select(Event).options(joinedload(Event.call)).order_by(Event.id)):
        days = _event_days(event)
        if days and days[-1] < today:
            ended[event.id] = (event, days[0], days[-1])
    return ended


def _event_edition(event: Event) -> int | None:
    if event.edition_id is not None:
        return event.edition_id
    return event.call.edition_id if event.call is not None else None


def _event_smes(ended: dict[int, tuple[Event, date, date]]) -> list[Candidate]:
    if not ended:
        return []
    met = exists(select(Meeting.id).where(Meeting.sme_id == Participant.id,
                                          Meeting.status != MeetingStatus.CANCELLED.value))
    participants = db.session.scalars(
        select(Participant).where(Participant.event_id.in_(sorted(ended)), Participant.side == Side.SME.value,
                                  or_(Participant.checked_in_at.is_not(None), met))
        .order_by(Participant.event_id, Participant.id))
    found = []
    for participant in participants:
        event, first, last = ended[participant.event_id]
        edition_id = _event_edition(event)
        if edition_id is None:
            continue
        found.append(Candidate(participant.organisation_id, edition_id, FollowUpGroup.PARTICIPANT,
                               FollowUpSource.EVENT, participant.id, participant.application_id, first, last))
    return found


def _comparison(today: date, ended_events: dict[int, tuple[Event, date, date]]) -> list[Candidate]:
    applications = list(db.session.scalars(
        select(Application).join(Call, Call.id == Application.call_id)
        .where(Call.status == CallStatus.DECIDED.value, Call.audience == CallAudience.COMPANIES.value,
               Application.status == ApplicationStatus.SUBMITTED.value,
               Application.eligibility == Eligibility.ELIGIBLE.value,
               Application.outcome.in_([Outcome.REJECTED.value, Outcome.RESERVE.value]),
               Application.comparison_consent.is_(True))
        .options(joinedload(Application.call))
        .order_by(Application.id)))
    if not applications:
        return []
    call_ids = sorted({a.call_id for a in applications})
    cohorts = {c.call_id: c for c in db.session.scalars(select(Cohort).where(Cohort.call_id.in_(call_ids)))}
    events_of_call: dict[int, list[tuple[Event, date, date]]] = defaultdict(list)
    for event, first, last in ended_events.values():
        if event.call_id is not None:
            events_of_call[event.call_id].append((event, first, last))
    # A call whose event is still to come waits for it, even if another event with it has ended.
    pending_calls = {e.call_id for e in db.session.scalars(select(Event).where(Event.call_id.in_(call_ids)))
                     if e.id not in ended_events}
    found = []
    for application in applications:
        cohort = cohorts.get(application.call_id)
        if cohort is not None:
            if not _ended(cohort, today):
                continue
            edition_id, started, ended_on = cohort.edition_id, cohort.starts_on, cohort.ends_on
        else:
            events = events_of_call.get(application.call_id)
            if not events or application.call_id in pending_calls:
                continue
            event, first, last = max(events, key=lambda e: e[2])
            edition_id = _event_edition(event) or application.call.edition_id
            started, ended_on = min(e[1] for e in events), last
        found.append(Candidate(application.organisation_id, edition_id, FollowUpGroup.COMPARISON,
                               FollowUpSource.COMPARISON, application.id, application.id, started, ended_on))
    return found


def _figure(value, limit: Decimal | None = None) -> Decimal | None:
    """A baseline answer as a figure, or None when it is not one the columns can hold."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        figure = Decimal(str(value).strip()).quantize(CENT)
    except (InvalidOperation, ValueError):
        return None
    if not figure.is_finite() or figure < 0 or (limit is not None and figure > limit):
        return None
    return figure


def baselines_of(application_ids) -> dict[int, dict[str, object]]:
    """The baseline figures answered in each application, by FollowUp column name."""
    ids = sorted({i for i in application_ids if i is not None})
    found: dict[int, dict[str, object]] = defaultdict(dict)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Answer.application_id, Question.baseline_key, Answer.value)
        .join(Question, Question.id == Answer.question_id)
        .where(Answer.application_id.in_(ids), Question.baseline_key.is_not(None)))
    for application_id, key, value in rows:
        if key == "baseline_year":
            year = _figure(value)
            if year is not None and year == year.to_integral_value() and 1900 <= year <= 2100:
                found[application_id]["baseline_year"] = int(year)
        elif key in validation.BASELINE_FIELDS:
            limit = FTE_LIMIT if key in validation.BASELINE_FTE else None
            figure = _figure(value, limit)
            if figure is not None:
                found[application_id][f"baseline_{key}"] = figure
    return dict(found)


def enrol(today: date) -> int:
    """Create the follow-ups due by `today` (participants first, then the comparison group);
    returns how many were created. Running it again creates nothing."""
    ended_events = _ended_events(today)
    candidates = [*_cohort_members(today), *_event_smes(ended_events), *_comparison(today, ended_events)]
    if not candidates:
        return 0
    taken = set(db.session.execute(select(FollowUp.organisation_id, FollowUp.edition_id)).all())
    anonymised = set(db.session.scalars(select(Organisation.id).where(Organisation.anonymised_at.is_not(None))))
    fresh = []
    for candidate in candidates:
        key = (candidate.organisation_id, candidate.edition_id)
        if key in taken or candidate.organisation_id in anonymised:
            continue
        taken.add(key)
        fresh.append(candidate)
    baselines = baselines_of(c.application_id for c in fresh)
    created = 0
    for candidate in fresh:
        baseline = baselines.get(candidate.application_id, {}) if candidate.application_id else {}
        follow_up = FollowUp(
            organisation_id=candidate.organisation_id, edition_id=candidate.edition_id,
            group=candidate.group.value, source=candidate.source.value, source_id=candidate.source_id,
            application_id=candidate.application_id, started_on=candidate.started_on, ended_on=candidate.ended_on,
            baseline_source=(BaselineSource.APPLICATION if baseline else BaselineSource.MISSING).value, **baseline)
        try:
            with db.session.begin_nested():
                db.session.add(follow_up)
        except IntegrityError:
            continue  # enrolled a moment ago by another run
        audit.record("kpi.follow_up_created", follow_up, group=follow_up.group, source=follow_up.source,
                     source_id=follow_up.source_id, ended_on=follow_up.ended_on.isoformat(),
                     baseline_source=follow_up.baseline_source)
        created += 1
    db.session.flush()
    return created


# --- the baseline -----------------------------------------------------------------------------

BASELINE_COLUMNS = tuple(k if k.startswith("baseline_") else f"baseline_{k}" for k in validation.BASELINE_FIELDS)


def baseline_figures(follow_up: FollowUp) -> dict[str, object]:
    """The baseline by BaselineKey value (baseline_year, turnover, ...)."""
    return {key: getattr(follow_up, column) for key, column in zip(validation.BASELINE_FIELDS, BASELINE_COLUMNS,
                                                                    strict=True)}


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def correct_baseline(actor, follow_up: FollowUp, figures: dict, reason: str,
                     now: datetime | None = None) -> FollowUp:
    """Staff set the baseline figures (BaselineKey values -> typed text or numbers; empty when
    unknown), with the reason for the correction; audited with the figures before and after."""
    _staff_or_404(actor)
    reason = (reason or "").strip()
    if not reason:
        raise FollowUpError(_l("Give the reason for the correction, for example “figures from the filed annual "
                               "accounts”: it is kept in the audit log."), field="reason")
    if len(reason) > validation.REASON_MAX:
        raise FollowUpError(_l("Write the reason in at most %(n)d characters.", n=validation.REASON_MAX),
                            field="reason")
    checked = validation.check_baseline(figures)
    if not checked.ok:
        raise AnswerProblems(checked.errors)
    before = baseline_figures(follow_up)
    after = dict(checked.values)
    if before == after:
        raise FollowUpError(_l("These are the figures already recorded: change at least one, or leave the "
                               "baseline as it is."))
    for key, column in zip(validation.BASELINE_FIELDS, BASELINE_COLUMNS, strict=True):
        setattr(follow_up, column, after[key])
    follow_up.baseline_source = BaselineSource.STAFF.value
    follow_up.baseline_corrected_at = now or utcnow()
    follow_up.baseline_corrected_by_id = getattr(actor, "id", None)
    follow_up.baseline_correction_reason = reason
    db.session.flush()
    audit.record("kpi.baseline_corrected", follow_up, actor=actor,
                 before={k: _plain(v) for k, v in before.items()},
                 after={k: _plain(v) for k, v in after.items()}, reason=reason)
    return follow_up


# --- survey waves, invitations, reminders ----------------------------------------------------------


def create_due_surveys(today: date) -> list[Survey]:
    """Open every survey due by `today` that does not exist yet (also waves that fell due long
    ago, for a company enrolled late); running it again creates nothing."""
    complete = (select(Survey.follow_up_id).group_by(Survey.follow_up_id)
                .having(func.count(Survey.id) >= len(WAVES)))
    follow_ups = db.session.scalars(
        select(FollowUp).join(Organisation, Organisation.id == FollowUp.organisation_id)
        .where(FollowUp.ended_on <= today, FollowUp.id.not_in(complete), Organisation.anonymised_at.is_(None))
        .options(selectinload(FollowUp.surveys)).order_by(FollowUp.id))
    created = []
    for follow_up in follow_ups:
        have = {s.wave for s in follow_up.surveys}
        for wave in WAVES:
            due = due_date(follow_up.ended_on, wave)
            if due > today:
                break
            if wave in have:
                continue
            survey = Survey(follow_up_id=follow_up.id, wave=wave, due_on=due, fiscal_year=fiscal_year_of(due),
                            status=SurveyStatus.OPEN.value, reminders_sent=0, confirmed_jumps=[])
            try:
                with db.session.begin_nested():
                    db.session.add(survey)
            except IntegrityError:
                continue  # opened a moment ago by another run
            audit.record("kpi.survey_opened", survey, follow_up_id=follow_up.id, wave=wave,
                         due_on=due.isoformat(), fiscal_year=survey.fiscal_year)
            created.append(survey)
    db.session.flush()
    return created


def people_of(organisation_id: int) -> list[User]:
    """The organisation's people whose account is active."""
    return list(db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == organisation_id, User.disabled_at.is_(None), User.erased_at.is_(None))
        .order_by(User.id)))


def _tell(survey: Survey, template: str, subject) -> int:
    follow_up = survey.follow_up
    link = path_for("kpi.survey", survey_id=survey.id)
    told = 0
    for person in people_of(follow_up.organisation_id):
        if notify(person, subject, template, link=link, survey=survey, organisation=follow_up.organisation.legal_name,
                  edition=follow_up.edition, max_reminders=MAX_REMINDERS) is not None:
            told += 1
    return told


def invite(survey: Survey, now: datetime | None = None) -> int:
    """Invite the company's people to answer the survey; returns how many were told. A company
    with nobody to tell stays uninvited, so the next run tries again."""
    now = now or utcnow()
    subject = _l("Follow-up survey: the figures of %(company)s for %(year)s",
                 company=survey.follow_up.organisation.legal_name, year=survey.fiscal_year)
    told = _tell(survey, "kpi_survey_invitation", subject)
    if told:
        survey.invited_at = now
        audit.record("kpi.survey_invited", survey, follow_up_id=survey.follow_up_id, wave=survey.wave, told=told)
    db.session.flush()
    return told


def invite_pending(now: datetime) -> int:
    """Invite every open survey not invited yet; returns how many surveys were."""
    surveys = db.session.scalars(
        select(Survey).where(Survey.status == SurveyStatus.OPEN.value, Survey.invited_at.is_(None))
        .options(joinedload(Survey.follow_up).joinedload(FollowUp.organisation)).order_by(Survey.id))
    return sum(1 for survey in list(surveys) if invite(survey, now))


def remind_due(now: datetime) -> int:
    """Remind each open survey whose invitation or last reminder is 14 or more days old (counted in
    days, Europe/Rome), at most 6 times; returns how many were reminded."""
    today = _today(now)
    # A first cut in SQL (a day of margin for the time zone); the exact count of days below.
    cutoff = now - (REMIND_EVERY - timedelta(days=1))
    last_contact_old = or_(Survey.last_reminded_at <= cutoff,
                           and_(Survey.last_reminded_at.is_(None), Survey.invited_at <= cutoff))
    surveys = list(db.session.scalars(
        select(Survey).where(Survey.status == SurveyStatus.OPEN.value, Survey.invited_at.is_not(None),
                             Survey.reminders_sent < MAX_REMINDERS, last_contact_old)
        .options(joinedload(Survey.follow_up).joinedload(FollowUp.organisation)).order_by(Survey.id)))
    reminded = 0
    for survey in surveys:
        last = survey.last_reminded_at or survey.invited_at
        if _today(last) > today - REMIND_EVERY:
            continue
        subject = _l("Reminder: the follow-up survey of %(company)s for %(year)s",
                     company=survey.follow_up.organisation.legal_name, year=survey.fiscal_year)
        told = _tell(survey, "kpi_survey_reminder", subject)
        if not told:
            continue
        survey.reminders_sent = (survey.reminders_sent or 0) + 1
        survey.last_reminded_at = now
        audit.record("kpi.survey_reminded", survey, follow_up_id=survey.follow_up_id, wave=survey.wave,
                     reminder=survey.reminders_sent, told=told)
        reminded += 1
    db.session.flush()
    return reminded


# --- answering -------------------------------------------------------------------------------------


@dataclass
class Previous:
    """The figures the answers are compared with: the last answered earlier wave, else the baseline."""

    values: dict[str, Decimal | None]
    wave: int | None = None  # the earlier wave, None: the baseline
    year: int | None = None  # its financial year

    @property
    def from_baseline(self) -> bool:
        return self.wave is None


def previous_figures(survey: Survey) -> Previous:
    earlier = [s for s in survey.follow_up.surveys
               if s.wave < survey.wave and s.status == SurveyStatus.ANSWERED.value]
    if earlier:
        last = max(earlier, key=lambda s: s.wave)
        return Previous({k: getattr(last, k) for k in validation.JUMP_FIELDS}, last.wave, last.fiscal_year)
    follow_up = survey.follow_up
    return Previous({k: getattr(follow_up, column) for k, column in BASELINE_COLUMN.items()},
                    None, follow_up.baseline_year)


@dataclass
class SurveyAccess:
    survey: Survey
    staff: bool
    member: bool

    @property
    def on_behalf(self) -> bool:
        """Staff who are not the company's people enter the answers on its behalf."""
        return self.staff and not self.member

    @property
    def may_answer(self) -> bool:
        return self.on_behalf or (self.member and self.survey.status == SurveyStatus.OPEN.value)


def _survey_query():
    return select(Survey).options(
        joinedload(Survey.follow_up).joinedload(FollowUp.organisation),
        joinedload(Survey.follow_up).joinedload(FollowUp.edition).joinedload(Edition.programme),
        joinedload(Survey.answered_by))


def survey_for(actor, survey_id: int) -> SurveyAccess:
    """The survey for its company's people and for staff; 404 for anyone else."""
    survey = db.session.scalar(_survey_query().where(Survey.id == survey_id))
    if survey is None or actor is None or not actor.is_authenticated:
        abort(404)
    member = survey.follow_up.organisation_id in organisation_ids_of(actor)
    staff = is_staff(actor)
    if not (member or staff):
        abort(404)
    return SurveyAccess(survey, staff, member)


@dataclass
class AnswerOutcome:
    survey: Survey
    saved: bool
    jumps: list[validation.Jump] = field(default_factory=list)


ANSWER_COLUMNS = (*validation.FIGURES, "funding_source", "comment")


def answers_of(survey: Survey) -> dict[str, object]:
    return {k: getattr(survey, k) for k in ANSWER_COLUMNS}


def answer(actor, survey: Survey, figures: dict, confirm_jumps: bool = False, on_behalf: bool = False,
           now: datetime | None = None) -> AnswerOutcome:
    """Record the answers of a survey: by one of the company's people (its open survey, once), or
    by staff on the company's behalf (also correcting an answered one; audited). Nothing is saved
    while a figure far from the previous known one is not confirmed (`confirm_jumps`)."""
    if actor is None or not actor.is_authenticated:
        abort(404)
    member = survey.follow_up.organisation_id in organisation_ids_of(actor)
    if on_behalf and not is_staff(actor):
        abort(404)
    if not on_behalf and not member:
        abort(404)
    # Two people of the company may send at once: the row is locked on PostgreSQL, and re-read.
    db.session.execute(select(Survey.id).where(Survey.id == survey.id).with_for_update())
    db.session.refresh(survey)
    answered_before = survey.status == SurveyStatus.ANSWERED.value
    if answered_before and not on_behalf:
        raise FollowUpError(_l("This survey is answered already. If a figure is wrong, write to the programme "
                               "staff: they can correct it."))
    checked = validation.check_answers(figures, previous_figures(survey).values)
    if not checked.ok:
        raise AnswerProblems(checked.errors)
    if checked.jumps and not confirm_jumps:
        return AnswerOutcome(survey, False, checked.jumps)
    before = {k: _plain(v) for k, v in answers_of(survey).items()} if answered_before else None
    for key, value in checked.answers.as_dict().items():
        setattr(survey, key, value)
    survey.confirmed_jumps = [j.field for j in checked.jumps]
    survey.status = SurveyStatus.ANSWERED.value
    survey.answered_at = now or utcnow()
    survey.answered_by_id = actor.id
    survey.entered_by_staff = bool(on_behalf)
    db.session.flush()
    after = {k: _plain(v) for k, v in answers_of(survey).items()}
    action = "kpi.survey_answered_on_behalf" if on_behalf else "kpi.survey_answered"
    audit.record(action, survey, actor=actor, follow_up_id=survey.follow_up_id, wave=survey.wave,
                 fiscal_year=survey.fiscal_year, confirmed_jumps=survey.confirmed_jumps, before=before, after=after)
    if on_behalf:
        message = _l("The programme staff recorded the figures of %(company)s for %(year)s in its follow-up "
                     "survey. You can read them on the survey's page.",
                     company=survey.follow_up.organisation.legal_name, year=survey.fiscal_year)
        for person in people_of(survey.follow_up.organisation_id):
            notify(person, _l("Follow-up survey for %(year)s recorded", year=survey.fiscal_year), "generic",
                   link=path_for("kpi.survey", survey_id=survey.id), message=message, email=False)
    return AnswerOutcome(survey, True, checked.jumps)


# --- what a company sees ------------------------------------------------------------------------------


def surveys_of(user) -> list[Survey]:
    """The surveys of the user's organisations: open ones first (soonest due first), then answered."""
    ids = organisation_ids_of(user)
    if not ids:
        return []
    surveys = list(db.session.scalars(
        _survey_query().join(FollowUp, FollowUp.id == Survey.follow_up_id).where(FollowUp.organisation_id.in_(ids))))
    return sorted(surveys, key=lambda s: (s.status != SurveyStatus.OPEN.value,
                                          s.due_on if s.status == SurveyStatus.OPEN.value else date.min,
                                          -(s.answered_at.timestamp() if s.answered_at else 0), s.id))


def open_surveys_of(user) -> list[Survey]:
    return [s for s in surveys_of(user) if s.status == SurveyStatus.OPEN.value]


def next_wave(survey: Survey) -> tuple[int, date, int] | None:
    """The wave after this one: (months, due date, financial year), or None after the last."""
    later = [w for w in WAVES if w > survey.wave]
    if not later:
        return None
    due = due_date(survey.follow_up.ended_on, later[0])
    return later[0], due, fiscal_year_of(due)


# --- what staff see ------------------------------------------------------------------------------------


class WaveRate(NamedTuple):
    wave: int
    group: str
    due: int
    answered: int
    rate: float


def _scoped(query, programme: str | None, edition: int | None):
    if programme:
        query = query.where(Programme.kind == programme)
    if edition:
        query = query.where(Edition.year == edition)
    return query


def response_rates(programme: str | None = None, edition: int | None = None) -> list[WaveRate]:
    """Per wave and group: surveys due (opened), answered, and the share answered."""
    answered = func.sum(case((Survey.status == SurveyStatus.ANSWERED.value, 1), else_=0))
    query = (select(Survey.wave, FollowUp.group, func.count(Survey.id), answered)
             .join(FollowUp, FollowUp.id == Survey.follow_up_id)
             .join(Edition, Edition.id == FollowUp.edition_id).join(Programme, Programme.id == Edition.programme_id)
             .group_by(Survey.wave, FollowUp.group))
    rows = db.session.execute(_scoped(query, programme, edition)).all()
    order = {g.value: i for i, g in enumerate(FollowUpGroup)}
    rates = [WaveRate(int(wave), group, int(due), int(done or 0), (int(done or 0) / int(due)) if due else 0.0)
             for wave, group, due, done in rows]
    return sorted(rates, key=lambda r: (r.wave, order.get(r.group, 9)))


@dataclass
class FollowUpFilters:
    programme: str | None = None
    edition: int | None = None
    group: str | None = None
    state: str | None = None

    def as_args(self) -> dict:
        args = {"programme": self.programme, "edition": self.edition, "group": self.group, "state": self.state}
        return {k: v for k, v in args.items() if v}


def _list_query(filters: FollowUpFilters):
    query = (select(FollowUp).join(Organisation, Organisation.id == FollowUp.organisation_id)
             .join(Edition, Edition.id == FollowUp.edition_id).join(Programme, Programme.id == Edition.programme_id))
    query = _scoped(query, filters.programme, filters.edition)
    if filters.group:
        query = query.where(FollowUp.group == filters.group)
    has_open = exists(select(Survey.id).where(Survey.follow_up_id == FollowUp.id,
                                              Survey.status == SurveyStatus.OPEN.value))
    has_any = exists(select(Survey.id).where(Survey.follow_up_id == FollowUp.id))
    if filters.state == "open":
        query = query.where(has_open)
    elif filters.state == "answered":
        query = query.where(has_any, ~has_open)
    elif filters.state == "none":
        query = query.where(~has_any)
    return query


def _list_options(query):
    return (query.options(joinedload(FollowUp.organisation),
                          joinedload(FollowUp.edition).joinedload(Edition.programme),
                          selectinload(FollowUp.surveys))
            .order_by(func.lower(Organisation.legal_name), Edition.year, FollowUp.id))


@dataclass
class FollowUpList:
    page: Page
    with_open: int  # of the follow-ups matching the filters, those with a survey to answer
    rates: list[WaveRate]


def follow_up_list(actor, filters: FollowUpFilters, per_page: int = 25) -> FollowUpList:
    _staff_or_404(actor)
    query = _list_query(filters)
    page = paginate(_list_options(query), per_page=per_page)
    open_ids = (select(Survey.follow_up_id).where(Survey.status == SurveyStatus.OPEN.value))
    with_open = db.session.scalar(select(func.count()).select_from(
        query.where(FollowUp.id.in_(open_ids)).order_by(None).subquery())) or 0
    return FollowUpList(page, with_open, response_rates(filters.programme, filters.edition))


def follow_ups_for_export(actor, filters: FollowUpFilters, fmt: str) -> list[FollowUp]:
    """Every follow-up matching the filters (no pages), for a download; the export is audited."""
    _staff_or_404(actor)
    rows = list(db.session.scalars(_list_options(_list_query(filters))).unique())
    audit.record("kpi.follow_ups_exported", actor=actor, object_type=FollowUp.__tablename__, format=fmt,
                 rows=len(rows), filters=filters.as_args())
    return rows


def edition_years() -> list[int]:
    """The years of the editions that have follow-ups, newest first (the list's filter)."""
    return list(db.session.scalars(
        select(Edition.year).join(FollowUp, FollowUp.edition_id == Edition.id).distinct()
        .order_by(Edition.year.desc())))


@dataclass
class Overview:
    """The staff home panel: open surveys and the response of the latest wave."""

    open_surveys: int
    latest: WaveRate | None  # group "all"


def overview() -> Overview | None:
    total = db.session.scalar(select(func.count(Survey.id))) or 0
    if not total:
        return None
    open_count = db.session.scalar(select(func.count(Survey.id)).where(
        Survey.status == SurveyStatus.OPEN.value)) or 0
    latest_wave = db.session.scalar(select(Survey.wave).order_by(Survey.due_on.desc(), Survey.wave.desc()).limit(1))
    due = db.session.scalar(select(func.count(Survey.id)).where(Survey.wave == latest_wave)) or 0
    done = db.session.scalar(select(func.count(Survey.id)).where(
        Survey.wave == latest_wave, Survey.status == SurveyStatus.ANSWERED.value)) or 0
    return Overview(open_count, WaveRate(latest_wave, "all", due, done, done / due if due else 0.0))


TIMELINE_LABELS = {
    "kpi.follow_up_created": _l("Followed after the programme"),
    "kpi.baseline_corrected": _l("Baseline corrected"),
    "kpi.survey_opened": _l("Survey opened"),
    "kpi.survey_invited": _l("Invitation sent"),
    "kpi.survey_reminded": _l("Reminder sent"),
    "kpi.survey_answered": _l("Survey answered by the company"),
    "kpi.survey_answered_on_behalf": _l("Answers entered by the programme staff"),
}


def timeline(follow_up: FollowUp, limit: int = 60) -> list[TimelineEntry]:
    """What happened to a follow-up and its surveys, newest first, from the audit log."""
    survey_ids = [str(s.id) for s in follow_up.surveys]
    about = and_(AuditEntry.object_type == FollowUp.__tablename__, AuditEntry.object_id == str(follow_up.id))
    if survey_ids:
        about = or_(about, and_(AuditEntry.object_type == Survey.__tablename__,
                                AuditEntry.object_id.in_(survey_ids)))
    rows = db.session.execute(
        select(AuditEntry, User.full_name).outerjoin(User, User.id == AuditEntry.actor_id)
        .where(about, AuditEntry.action.in_(list(TIMELINE_LABELS)))
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit))
    entries = []
    for entry, name in rows:
        detail = entry.detail or {}
        subject = None
        if detail.get("wave"):
            subject = str(_l("%(months)s-month survey", months=detail["wave"]))
        if entry.action == "kpi.baseline_corrected":
            subject = detail.get("reason")
        elif entry.action == "kpi.survey_reminded" and detail.get("reminder"):
            subject = str(_l("%(survey)s, reminder %(n)s of %(max)s", survey=subject, n=detail["reminder"],
                             max=MAX_REMINDERS))
        who = name if entry.actor_id is not None else str(_l("the scheduler"))
        entries.append(TimelineEntry(entry.created_at, who, str(TIMELINE_LABELS[entry.action]), subject))
    return entries


@dataclass
class FollowUpPage:
    follow_up: FollowUp
    surveys: list[Survey]
    timeline: list[TimelineEntry]
    corrected_by: User | None


def follow_up_page(actor, follow_up_id: int) -> FollowUpPage:
    _staff_or_404(actor)
    follow_up = follow_up_for_staff(actor, follow_up_id)
    corrected_by = (db.session.get(User, follow_up.baseline_corrected_by_id)
                    if follow_up.baseline_corrected_by_id else None)
    return FollowUpPage(follow_up, list(follow_up.surveys), timeline(follow_up), corrected_by)


def follow_up_for_staff(actor, follow_up_id: int) -> FollowUp:
    _staff_or_404(actor)
    follow_up = db.session.scalar(
        select(FollowUp).where(FollowUp.id == follow_up_id)
        .options(joinedload(FollowUp.organisation), joinedload(FollowUp.edition).joinedload(Edition.programme),
                 selectinload(FollowUp.surveys)))
    if follow_up is None:
        abort(404)
    return follow_up

"""The scheduled jobs of calls: opening and closing on time, and deadline reminders.

`calls_open_and_close` runs every 5 minutes: it opens every published call whose
opening time has passed and closes every open call whose deadline has passed. Each
move goes through `states.transition` (audited with no actor: the scheduler) and tells
staff. Running it again changes nothing, since a call already moved is no longer
selected.

`calls_deadline_reminders` runs every hour: 7 days and 1 day before the deadline of
each open call, the members of every organisation whose application is still a draft
get a reminder. A row in `call_reminders` (unique per call and kind) records that a
kind was sent, so a rerun, a second scheduler process or a restart never sends it
twice. When the job finds both kinds due at once (a call published less than a day
before its deadline, or the scheduler down for days) it sends only the nearer one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from opsapp.accounts.models import Membership, Organisation
from opsapp.calls import design
from opsapp.calls.models import Application, ApplicationStatus, Call, CallReminder, CallStatus
from opsapp.core.notifications import notify
from opsapp.extensions import db
from opsapp.jobs import job

# Reminder kinds, from the farthest to the nearest: how long before the deadline each is due.
REMINDERS = (("deadline_7d", timedelta(days=7)), ("deadline_1d", timedelta(days=1)))


@job("calls_open_and_close", "interval", minutes=5)
def calls_open_and_close(now: datetime) -> str:
    opened = design.open_due_calls(now)
    closed = design.close_due_calls(now)
    return f"{opened} opened, {closed} closed"


@job("calls_deadline_reminders", "cron", period_format="%Y-%m-%dT%H", minute=7)
def calls_deadline_reminders(now: datetime) -> str:
    calls = list(db.session.scalars(
        select(Call).where(Call.status == CallStatus.OPEN, Call.closes_at > now,
                           Call.closes_at <= now + REMINDERS[0][1]).order_by(Call.id)))
    if not calls:
        return "0 reminders"
    sent_kinds = {(r.call_id, r.kind) for r in db.session.scalars(
        select(CallReminder).where(CallReminder.call_id.in_([c.id for c in calls])))}
    sent = 0
    for call in calls:
        due = [kind for kind, before in REMINDERS
               if now >= call.closes_at - before and (call.id, kind) not in sent_kinds]
        if not due:
            continue
        # Only the nearest reminder goes out; the farther ones it makes pointless are marked done.
        for kind in due[:-1]:
            _mark_sent(call, kind, now, 0)
        sent += remind_drafts(call, due[-1], now)
    return f"{sent} reminders"


def remind_drafts(call: Call, kind: str, now: datetime) -> int:
    """Mark the reminder as sent (the unique key decides between racing runs), then e-mail the
    members of each organisation with a draft. Returns how many people were told."""
    if not _mark_sent(call, kind, now, 0):
        return 0
    drafts = list(db.session.scalars(
        select(Application).where(Application.call_id == call.id, Application.status == ApplicationStatus.DRAFT)
        .options(selectinload(Application.organisation).selectinload(Organisation.memberships)
                 .selectinload(Membership.user))
        .order_by(Application.id)))
    told = 0
    title, zone, deadline = call.title, call.timezone, call.closes_at
    for application in drafts:
        link = design.path_for("calls.application_detail", application_id=application.id)
        for membership in application.organisation.memberships:
            user = membership.user
            if user.disabled_at is not None:
                continue

            def subject(days=(deadline - now).days):
                if days >= 1:
                    return ngettext("Reminder: “%(title)s” closes in %(num)d day",
                                    "Reminder: “%(title)s” closes in %(num)d days", days, title=title)
                return _("Reminder: “%(title)s” closes in less than a day", title=title)

            if notify(user, subject, "call_reminder", link=link, call_title=title, deadline=deadline, zone=zone,
                      organisation=application.organisation.legal_name, now=now) is not None:
                told += 1
    reminder = db.session.scalar(select(CallReminder).where(CallReminder.call_id == call.id,
                                                            CallReminder.kind == kind))
    reminder.recipients = told
    db.session.flush()
    return told


def _mark_sent(call: Call, kind: str, now: datetime, recipients: int) -> bool:
    """Record that `kind` went out for `call`; False if it already had (another run got there first)."""
    try:
        with db.session.begin_nested():
            db.session.add(CallReminder(call_id=call.id, kind=kind, sent_at=now, recipients=recipients))
    except IntegrityError:
        return False
    return True

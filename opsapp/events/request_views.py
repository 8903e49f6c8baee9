"""Pages of the marketplace and of meeting requests.

- `events.marketplace`: the profiles of the other side (staff: both), filters in the URL,
  suggested matches, favourites, the state of my request with each;
- `events.profile_view`: one profile in full; `events.favourite` (POST): save or forget it;
- `events.requests`: a participant's received, sent and answered requests with its quota
  left; staff: every request of the event with filters, counts and CSV/XLSX export;
- `events.request_new`: the request form to one participant (`?to=<id>`);
- `events.request_answer`, `events.request_withdraw` (POST);
- `events.request_staff_new`: staff add a request, accepted on both sides' behalf if they wish.

Views are thin: decorator, form, one service call of `marketplace.py` or `requests.py`
(which check the object-level rights), one commit. The home panel "Meeting requests to
answer" is here too.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opsapp.accounts import organisations
from opsapp.accounts.forms import EmptyForm
from opsapp.core import exports, home
from opsapp.core.permissions import roles_required, signed_in
from opsapp.core.redirects import safe_next
from opsapp.core.roles import PROGRAMME_STAFF, Role
from opsapp.core.timeutil import utcnow
from opsapp.events import marketplace, matching, requests, states
from opsapp.events.blueprint import bp
from opsapp.events.models import MeetingRequest, Participant, RequestStatus, Side
from opsapp.events.pages import (
    EventError,
    actor,
    country_name,
    event_or_404,
    language_name,
    refuse,
    refuse_action,
    render,
    viewable_event,
)
from opsapp.events.request_forms import (
    AnswerForm,
    MarketFilterForm,
    RequestFilterForm,
    RequestForm,
    StaffRequestForm,
)
from opsapp.extensions import db

REASON_LABELS = {
    matching.DOMAINS: _l("Shared S3 domains"),
    matching.KEYWORDS: _l("shared words"),
    matching.COUNTRIES: _l("shared countries of interest"),
    matching.LANGUAGES: _l("shared languages"),
}


def _locale() -> str:
    return str(get_locale() or "en")


def reasons_text(fit: matching.Fit) -> str:
    """"Shared S3 domains: Agri-food; shared words: sensors, packaging"."""
    parts = []
    for kind, values in fit.reasons:
        if kind == matching.COUNTRIES:
            values = [country_name(v) for v in values]
        elif kind == matching.LANGUAGES:
            values = [language_name(v) for v in values]
        parts.append(f"{REASON_LABELS[kind]}: {', '.join(values)}")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]


def _helpers() -> dict:
    return {"country_name": country_name, "language_name": language_name, "reasons_text": reasons_text,
            "priority_label": requests.priority_label, "requested_by_label": requests.requested_by_label,
            "RequestStatus": RequestStatus, "Side": Side}


def _status_badge(status: str) -> str:
    return {"pending": "bg-warning text-dark", "accepted": "bg-success", "declined": "bg-danger",
            "withdrawn": "bg-secondary", "expired": "bg-secondary"}.get(status, "bg-secondary")


def _page(template: str, **context):
    return render(template, status_badge=_status_badge, **_helpers(), **context)


# --- home panel ------------------------------------------------------------------------------------


@home.panel(Role.APPLICANT, Role.BUYER, order=25)
def _requests_to_answer_panel(user):
    rows = requests.to_answer(user)
    if not rows:
        return None
    return home.Panel(_l("Meeting requests to answer"), "events/requests/_panel_to_answer.html",
                      {"requests": rows, "priority_label": requests.priority_label})


# --- the marketplace ---------------------------------------------------------------------------------


@bp.route("/<int:event_id>/marketplace", endpoint="marketplace")  # the module `marketplace` is the service
@signed_in
def marketplace_page(event_id: int):
    event, me = viewable_event(event_id)
    closed = marketplace.marketplace_ready(event, me)
    if closed:
        return _page("marketplace/closed.html", event=event, me=me, reason=closed)
    domains = organisations.s3_domains()
    form = MarketFilterForm(formdata=request.args, s3_domains=domains, countries=marketplace.market_countries(event, me),
                            country_name=country_name)
    filters = form.filters()
    if me is not None:
        filters.side = ""
    market = marketplace.marketplace(actor(), event, me, filters, _locale())
    return _page("marketplace/list.html", event=event, me=me, market=market, form=form, filters=filters,
                 filtered=bool(filters.as_args()), empty_form=EmptyForm())


@bp.route("/<int:event_id>/profiles/<int:participant_id>")
@signed_in
def profile_view(event_id: int, participant_id: int):
    event, me = viewable_event(event_id)
    target = marketplace.visible_profile(actor(), event, me, participant_id)
    mine = None
    favourite = False
    my_quota = None
    if me is not None and target.id != me.id:
        mine = marketplace.my_requests(me).get(target.id)
        favourite = target.id in marketplace.favourite_ids(me)
        my_quota = requests.quota(me)
    return _page("marketplace/profile.html", event=event, me=me, target=target, mine=mine, favourite=favourite,
                 quota=my_quota, open_for_requests=states.booking_open(event), empty_form=EmptyForm())


@bp.route("/<int:event_id>/profiles/<int:participant_id>/favourite", methods=["POST"])
@signed_in
def favourite(event_id: int, participant_id: int):
    event, me = viewable_event(event_id)
    back = safe_next(request.form.get("next")) or url_for("events.marketplace", event_id=event.id)
    if me is None or me.id == participant_id:
        abort(404)
    if not EmptyForm().validate_on_submit():
        flash(_("The form had expired. Send it again."), "danger")
        return redirect(back)
    saved = marketplace.toggle_favourite(actor(), event, me, participant_id)
    db.session.commit()
    target = db.session.get(Participant, participant_id)
    if saved:
        flash(_("%(name)s is saved among your favourites.", name=target.name), "success")
    else:
        flash(_("%(name)s is no longer among your favourites.", name=target.name), "success")
    return redirect(back)


# --- requests ------------------------------------------------------------------------------------------


@bp.route("/<int:event_id>/requests", endpoint="requests")  # the module `requests` is the service
@signed_in
def requests_page(event_id: int):
    event, me = viewable_event(event_id)
    if me is not None:
        mine = requests.requests_of(actor(), event, me)
        return _page("requests/mine.html", event=event, me=me, mine=mine, now=utcnow(),
                     open_for_requests=states.booking_open(event),
                     answer_form=AnswerForm(formdata=None), empty_form=EmptyForm(),
                     can_answer=requests.can_answer, can_withdraw=requests.can_withdraw, user=actor())
    form = RequestFilterForm(formdata=request.args)
    filters = form.filters()
    export = request.args.get("export", "")
    if export in ("csv", "xlsx"):
        header, rows = requests.export_rows(actor(), event, filters)
        filename = f"meeting-requests-event-{event.id}.{export}"
        if export == "csv":
            return exports.download(exports.csv_text(header, rows), filename)
        return exports.download(exports.xlsx_bytes([(_("Meeting requests"), header, rows)]), filename)
    listing = requests.staff_requests(actor(), event, filters)
    return _page("requests/staff_list.html", event=event, form=form, filters=filters, listing=listing,
                 filtered=bool(filters.as_args()), export_args=filters.as_args(), empty_form=EmptyForm(),
                 can_withdraw=requests.can_withdraw, user=actor())


def _target_from_args(event, me) -> Participant:
    to = request.args.get("to", "")
    if not to.isdigit():
        abort(404)
    return marketplace.visible_profile(actor(), event, me, int(to))


@bp.route("/<int:event_id>/requests/new", methods=["GET", "POST"])
@signed_in
def request_new(event_id: int):
    event, me = viewable_event(event_id)
    if me is None:  # staff: their own form, with this participant chosen
        to = request.args.get("to", "")
        target = db.session.get(Participant, int(to)) if to.isdigit() else None
        args = {}
        if target is not None and target.event_id == event.id:
            args = {"sme" if target.side == Side.SME.value else "buyer": target.id}
        return redirect(url_for("events.request_staff_new", event_id=event.id, **args))
    target = _target_from_args(event, me)
    if target.id == me.id:
        abort(404)
    form = RequestForm()
    if form.validate_on_submit():
        try:
            requests.send(actor(), event, me, target, form.message.data, form.priority.data)
        except EventError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("Your meeting request to %(name)s is sent. You will be told when they answer.",
                    name=target.name), "success")
            return redirect(url_for("events.requests", event_id=event.id))
    existing = marketplace.my_requests(me).get(target.id)
    return _page("requests/new.html", event=event, me=me, target=target, form=form, quota=requests.quota(me),
                 existing=existing, open_for_requests=states.booking_open(event))


@bp.route("/requests/<int:request_id>/answer", methods=["POST"])
@signed_in
def request_answer(request_id: int):
    meeting_request = requests.request_for(actor(), request_id)
    back = url_for("events.requests", event_id=meeting_request.event_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            flash(_("The form had expired. Send it again."), "danger")
        else:
            for errors in form.errors.values():
                for message in errors:
                    flash(str(message), "danger")
        return redirect(back)
    try:
        if form.decision.data == "accept":
            requests.accept(actor(), meeting_request)
        else:
            requests.decline(actor(), meeting_request, form.reason.data)
    except EventError as error:
        refuse_action(error)
        return redirect(back)
    db.session.commit()
    other = _other_name(meeting_request)
    if form.decision.data == "accept":
        flash(_("You accepted the meeting with %(name)s. It goes to the scheduler; you will see it in your agenda "
                "once agendas are published.", name=other), "success")
    else:
        flash(_("You declined the meeting request of %(name)s. They were told.", name=other), "success")
    return redirect(back)


def _other_name(meeting_request: MeetingRequest) -> str:
    sides = requests.user_sides(actor(), meeting_request)
    if sides == {Side.SME}:
        return meeting_request.buyer.name
    if sides == {Side.BUYER}:
        return meeting_request.sme.name
    return f"{meeting_request.sme.name} – {meeting_request.buyer.name}"


@bp.route("/requests/<int:request_id>/withdraw", methods=["POST"])
@signed_in
def request_withdraw(request_id: int):
    meeting_request = requests.request_for(actor(), request_id)
    back = url_for("events.requests", event_id=meeting_request.event_id)
    if not EmptyForm().validate_on_submit():
        flash(_("The form had expired. Send it again."), "danger")
        return redirect(back)
    try:
        requests.withdraw(actor(), meeting_request)
    except EventError as error:
        refuse_action(error)
        return redirect(back)
    db.session.commit()
    flash(_("The meeting request with %(name)s is withdrawn; they were told.", name=_other_name(meeting_request)),
          "success")
    return redirect(back)


@bp.route("/<int:event_id>/requests/staff-new", methods=["GET", "POST"])
@roles_required(*PROGRAMME_STAFF)
def request_staff_new(event_id: int):
    event = event_or_404(event_id)
    smes, buyers = requests.participants_for_staff(event)
    form = StaffRequestForm(smes=smes, buyers=buyers)
    if request.method == "GET":
        for name, arg in (("sme_id", "sme"), ("buyer_id", "buyer")):
            value = request.args.get(arg, "")
            if value.isdigit():
                form[name].data = int(value)
    if form.validate_on_submit():
        sme = next((p for p in smes if p.id == form.sme_id.data), None)
        buyer = next((p for p in buyers if p.id == form.buyer_id.data), None)
        try:
            requests.staff_create(actor(), event, sme, buyer, form.priority.data, form.message.data,
                                  bool(form.force.data))
        except EventError as error:
            refuse(form, error)
        else:
            db.session.commit()
            if form.force.data:
                flash(_("The meeting between %(sme)s and %(buyer)s is accepted on both sides' behalf; both were "
                        "told.", sme=sme.name, buyer=buyer.name), "success")
            else:
                flash(_("The meeting request between %(sme)s and %(buyer)s is added; both were told and either "
                        "may answer it.", sme=sme.name, buyer=buyer.name), "success")
            return redirect(url_for("events.requests", event_id=event.id))
    return _page("requests/staff_new.html", event=event, form=form)

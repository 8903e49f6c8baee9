"""Pages of mentors: the pool (staff) with its filters, the invitation, a mentor's profile (their
own, or staff's edit) with the declared conflicts of interest, and the matching of a cohort's
companies with mentors (proposals, staff's adjustments, confirmation, ending a mentorship).

- `cohorts.mentors`, `cohorts.mentor_new`, `cohorts.mentor_edit`, `cohorts.matching` (staff);
- `cohorts.mentor_profile` (a mentor: their own profile).

Each view declares who may open it, calls one service of `mentors.py` (which checks the
object-level rights) and commits once. Navigation: "Mentors" (staff), "My mentor profile"
(mentors). Home panel: "Your companies" (mentors).
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opsapp.accounts import organisations
from opsapp.accounts.forms import EmptyForm
from opsapp.cohorts import bp, cohorts, matching, mentors
from opsapp.cohorts.mentor_forms import (
    ConflictForm,
    InviteMentorForm,
    MentorFilterForm,
    MentorProfileForm,
    matching_form,
)
from opsapp.cohorts.pages import CohortError, actor, refuse, refuse_action, render
from opsapp.core import home, navigation
from opsapp.core.permissions import roles_required
from opsapp.core.roles import Role
from opsapp.extensions import db

navigation.register(_l("Mentors"), "cohorts.mentors", [Role.STAFF, Role.ADMIN], order=56)
navigation.register(_l("My mentor profile"), "cohorts.mentor_profile", [Role.MENTOR], order=42)


def _locale() -> str:
    return str(get_locale() or "en")


# --- home panel --------------------------------------------------------------------------------------------------


@home.panel(Role.MENTOR, order=15)
def _mentor_panel(user):
    rows = cohorts.mentor_companies(user)
    if not rows:
        return None
    return home.Panel(_l("Your companies"), "cohorts/mentors/_panel_mentor.html",
                      {"rows": rows, "NEED_LABELS": cohorts.NEED_LABELS})


# --- the pool ------------------------------------------------------------------------------------------------------


def _choices():
    return cohorts.themes(), organisations.s3_domains()


@bp.route("/mentors", endpoint="mentors")
@roles_required(Role.STAFF, Role.ADMIN)
def mentors_list():
    themes, domains = _choices()
    filter_form = MentorFilterForm(formdata=request.args, themes=themes, s3_domains=domains, locale=_locale())
    filters = filter_form.filters()
    rows = mentors.pool(actor(), filters)
    return render("mentors/pool.html", filter_form=filter_form, rows=rows, filters=filters,
                  filtered=bool(filters.as_args()), LANGUAGES=mentors.LANGUAGES)


def _profile_data(form) -> mentors.ProfileData:
    return mentors.ProfileData(
        theme_ids=list(form.theme_ids.data or []), s3_domain_ids=list(form.s3_domain_ids.data or []),
        languages=list(form.languages.data or []), capacity=form.capacity.data, availability=form.availability.data,
        bio=form.bio.data, employer_vat=form.employer_vat.data,
        active=bool(form.active.data) if "active" in form else True)


@bp.route("/mentors/new", methods=["GET", "POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def mentor_new():
    if cohorts.ensure_default_themes(actor()):
        db.session.commit()
    themes = cohorts.themes(active_only=True)
    domains = [d for d in organisations.s3_domains() if d.active]
    if request.method == "POST":
        form = InviteMentorForm(themes=themes, s3_domains=domains, locale=_locale())
    else:
        form = InviteMentorForm(formdata=None, themes=themes, s3_domains=domains, locale=_locale(),
                                data={"languages": ["en", "it"], "capacity": 3, "locale": _locale()})
    if form.validate_on_submit():
        try:
            invitation = mentors.invite_mentor(actor(), full_name=form.full_name.data, email=form.email.data,
                                               locale=form.locale.data, data=_profile_data(form))
        except CohortError as error:
            refuse(form, error)
        else:
            db.session.commit()
            if invitation.created:
                flash(_("%(name)s is invited: they received an e-mail to choose their password.",
                        name=invitation.user.display_name), "success")
            else:
                flash(_("%(name)s already had an account: they are now a mentor and were told by e-mail.",
                        name=invitation.user.display_name), "success")
            return redirect(url_for("cohorts.mentors"))
    return render("mentors/invite.html", form=form)


# --- a mentor's profile ----------------------------------------------------------------------------------------------


def _profile_page(profile, mentor_id: int | None, *, staff: bool):
    """The profile form and the conflicts, for the mentor's own page (mentor_id None) or staff's edit."""
    endpoint_args = {"mentor_id": mentor_id} if mentor_id is not None else {}
    endpoint = "cohorts.mentor_edit" if mentor_id is not None else "cohorts.mentor_profile"
    have_t = {t.id for t in profile.themes} if profile else set()
    have_d = {d.id for d in profile.s3_domains} if profile else set()
    themes = [t for t in cohorts.themes() if t.active or t.id in have_t]
    domains = [d for d in organisations.s3_domains() if d.active or d.id in have_d]
    action = request.form.get("action", "profile") if request.method == "POST" else None
    form_cls = MentorProfileForm
    if action == "profile":
        form = form_cls(themes=themes, s3_domains=domains, locale=_locale())
    else:
        form = form_cls(formdata=None, themes=themes, s3_domains=domains, locale=_locale(), data={
            "theme_ids": sorted(have_t), "s3_domain_ids": sorted(have_d),
            "languages": list(profile.languages or []) if profile else ["en", "it"],
            "capacity": profile.capacity if profile else 3,
            "availability": profile.availability if profile else "", "bio": profile.bio if profile else "",
            "employer_vat": profile.organisation.vat_number if profile and profile.organisation else "",
            "active": profile.active if profile else True})
    conflict_form = ConflictForm() if action == "conflict_add" else ConflictForm(formdata=None)
    if action == "profile" and form.validate_on_submit():
        try:
            mentors.save_profile(actor(), mentor_id, _profile_data(form))
        except CohortError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("The mentor profile is saved."), "success")
            return redirect(url_for(endpoint, **endpoint_args))
    elif action == "conflict_add" and conflict_form.validate_on_submit():
        try:
            declared = mentors.add_conflict(actor(), mentor_id, conflict_form.vat.data, conflict_form.reason.data)
        except CohortError as error:
            refuse(conflict_form, error)
        else:
            name = declared.organisation.legal_name
            db.session.commit()
            flash(_("The conflict of interest with %(organisation)s is declared: no match with it will be "
                    "proposed.", organisation=name), "success")
            return redirect(url_for(endpoint, **endpoint_args))
    elif action == "conflict_remove":
        organisation_id = request.form.get("organisation_id", "")
        if not EmptyForm().validate_on_submit() or not organisation_id.isdigit():
            flash(_("The form had expired. Send it again."), "danger")
        else:
            try:
                mentors.remove_conflict(actor(), mentor_id, int(organisation_id))
            except CohortError as error:
                refuse_action(error)
            else:
                db.session.commit()
                flash(_("The conflict of interest is removed."), "success")
        return redirect(url_for(endpoint, **endpoint_args))
    profile = mentors.profile_for_staff(actor(), mentor_id) if mentor_id is not None else mentors.own_profile(actor())
    return render("mentors/profile.html", form=form, conflict_form=conflict_form, profile=profile, staff=staff,
                  action_url=url_for(endpoint, **endpoint_args),
                  conflicts=mentors.conflicts_of(profile) if profile else [], empty_form=EmptyForm(),
                  load=mentors.loads([profile.id]).get(profile.id, 0) if profile else 0, LANGUAGES=mentors.LANGUAGES)


@bp.route("/mentor/profile", methods=["GET", "POST"])
@roles_required(Role.MENTOR)
def mentor_profile():
    return _profile_page(mentors.own_profile(actor()), None, staff=False)


@bp.route("/mentors/<int:mentor_id>/edit", methods=["GET", "POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def mentor_edit(mentor_id: int):
    return _profile_page(mentors.profile_for_staff(actor(), mentor_id), mentor_id, staff=True)


# --- matching ----------------------------------------------------------------------------------------------------------


def fit_text(fit: matching.Fit | None, themes: dict, s3_names: dict, locale: str) -> str:
    """The fit with its reasons: "7 (Entrepreneurial finance: high; shared S3 domain ICT; language IT)"."""
    if fit is None:
        return ""
    if fit.total == 0:
        return _("0 (no common language)")
    parts = [_("%(theme)s: %(level)s", theme=themes[t].name(locale) if t in themes else t,
               level=str(cohorts.NEED_LABELS[level]).lower()) for t, level in fit.themes]
    if fit.s3_domains:
        names = ", ".join(s3_names.get(code, code) for code in fit.s3_domains)
        parts.append(ngettext("shared S3 domain %(names)s", "shared S3 domains %(names)s", len(fit.s3_domains),
                              names=names))
    parts.append(_("language %(codes)s", codes=", ".join(c.upper() for c in fit.languages)))
    return _("%(total)d (%(reasons)s)", total=fit.total, reasons="; ".join(parts))


def _workspace_page(w: mentors.Workspace, form):
    locale = _locale()
    return render("mentors/matching.html", w=w, cohort=w.cohort, form=form, empty_form=EmptyForm(),
                  fit_text=lambda fit: fit_text(fit, w.themes, w.s3_names, locale), conflict_labels=mentors.CONFLICT_LABELS,
                  unmatched_labels=mentors.UNMATCHED_LABELS, NEED_LABELS=cohorts.NEED_LABELS)


def _labels(profile, option: matching.Option) -> str:
    return ngettext("%(name)s (fit %(fit)d, %(num)d place left)", "%(name)s (fit %(fit)d, %(num)d places left)",
                    option.capacity_left, name=profile.user.display_name, fit=option.fit.total)


@bp.route("/cohorts/<int:cohort_id>/matching", methods=["GET", "POST"], endpoint="matching")
@roles_required(Role.STAFF, Role.ADMIN)
def matching_page(cohort_id: int):
    w = mentors.workspace(actor(), cohort_id, _locale())
    action = request.form.get("action", "") if request.method == "POST" else ""
    if action in ("end", "again"):
        if not EmptyForm().validate_on_submit():
            flash(_("The form had expired. Send it again."), "danger")
            return redirect(url_for("cohorts.matching", cohort_id=cohort_id))
        try:
            if action == "end":
                mentorship_id = request.form.get("mentorship_id", "")
                ended = mentors.end_mentorship(actor(), cohort_id, int(mentorship_id) if mentorship_id.isdigit() else 0)
                message = _("The mentorship of %(company)s with %(mentor)s is ended; both were told.",
                            company=ended.member.name, mentor=ended.mentor.user.display_name)
            else:
                dropped = mentors.drop_proposals(actor(), cohort_id)
                message = ngettext("%(num)d saved proposal was dropped: the page proposes afresh.",
                                   "%(num)d saved proposals were dropped: the page proposes afresh.", dropped)
        except CohortError as error:
            refuse_action(error)
        else:
            db.session.commit()
            flash(message, "success")
        return redirect(url_for("cohorts.matching", cohort_id=cohort_id))

    form = matching_form(w.choices, _labels) if action in ("save", "confirm") else matching_form(
        w.choices, _labels, formdata=None)
    if action in ("save", "confirm") and form.validate_on_submit():
        try:
            saved = mentors.save_choices(actor(), cohort_id, form.choices_made(), confirm=action == "confirm")
        except CohortError as error:
            refuse(form, error)
        else:
            db.session.commit()
            if action == "confirm":
                flash(ngettext("%(num)d mentorship is confirmed; the mentor and the company were told.",
                               "%(num)d mentorships are confirmed; the mentors and the companies were told.",
                               len(saved.confirmed)), "success")
            else:
                flash(ngettext("%(num)d proposal is saved; nobody is told before you confirm.",
                               "%(num)d proposals are saved; nobody is told before you confirm.",
                               len(saved.proposed)), "success")
            return redirect(url_for("cohorts.matching", cohort_id=cohort_id))
        w = mentors.workspace(actor(), cohort_id, _locale())
    return _workspace_page(w, form)

"""User administration pages for administrators: the searchable list and its CSV export,
creating a person (who receives an invitation to choose a password), and one person's
page with their roles, status, second factor, sign-ins, organisations and history.

Views parse the request, call one use case in `opsapp.accounts.admin` and commit once;
every change is a POST (CSRF checked by the app), answered with a message and a redirect.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from opsapp.accounts import admin, admin_panels, bp  # noqa: F401  (admin_panels registers the home panels)
from opsapp.accounts.forms import EmptyForm, UserForm, UserRolesForm, UserSearchForm
from opsapp.core import exports, navigation
from opsapp.core.pagination import paginate
from opsapp.core.permissions import roles_required
from opsapp.core.roles import ROLE_LABELS, Role
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db

navigation.register(_l("Users"), "accounts.admin_users", [Role.ADMIN], order=90)

PER_PAGE = 25


def _actor():
    return current_user._get_current_object()


def _filters() -> tuple[UserSearchForm, admin.UserFilters]:
    """The list's filters from the query string; a value that is not one of the choices is ignored."""
    form = UserSearchForm(formdata=request.args)
    form.validate()
    value = {name: ("" if form[name].errors else (form[name].data or "")) for name in ("q", "role", "status", "sort")}
    return form, admin.UserFilters(q=value["q"].strip(), role=value["role"], status=value["status"],
                                   sort=value["sort"] or "name")


def _user_or_404(user_id: int):
    user = admin.get_user(_actor(), user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/admin/users")
@roles_required(Role.ADMIN)
def admin_users():
    actor = _actor()
    form, filters = _filters()
    page = paginate(admin.user_query(actor, filters), per_page=PER_PAGE)
    return render_template(
        "accounts/admin/users.html", form=form, filters=filters, page=page,
        total_users=admin.count_users(actor), status_of=admin.status_of, status_labels=admin.STATUS_LABELS,
    )


@bp.route("/admin/users/export.csv")
@roles_required(Role.ADMIN)
def admin_users_export():
    _, filters = _filters()
    content = admin.export_users(_actor(), filters)
    db.session.commit()  # the export is audited
    return exports.download(content, f"users-{utcnow():%Y%m%d-%H%M}.csv")


@bp.route("/admin/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def admin_user_new():
    form = UserForm()
    if form.validate_on_submit():
        try:
            user = admin.create_user(_actor(), full_name=form.full_name.data, email=form.email.data,
                                     roles=form.roles.data, locale=form.locale.data)
        except admin.DuplicateEmail as error:
            db.session.rollback()
            form.email.errors.append(str(error))
        except admin.AdminError as error:
            db.session.rollback()
            form.roles.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("%(name)s can now use opsapp: we sent an invitation to %(email)s to choose a password.",
                    name=user.display_name, email=user.email), "success")
            return redirect(url_for("accounts.admin_user_detail", user_id=user.id))
    return render_template("accounts/admin/user_new.html", form=form)


def _render_detail(user, roles_form: UserRolesForm | None = None, status: int = 200):
    actor = _actor()
    if roles_form is None:
        roles_form = UserRolesForm(formdata=None, data={"roles": sorted(r.role for r in user.role_rows)})
    return render_template(
        "accounts/admin/user_detail.html", user=user, roles_form=roles_form, empty_form=EmptyForm(),
        status=admin.status_of(user), status_labels=admin.STATUS_LABELS,
        invitation_pending=admin.invitation_pending(user), is_self=user.id == actor.id,
        sessions=admin.live_sessions(actor, user), current_session_token=actor.get_id(),
        memberships=admin.memberships_of(actor, user), timeline=admin.timeline(actor, user),
        role_labels=ROLE_LABELS,
    ), status


@bp.route("/admin/users/<int:user_id>")
@roles_required(Role.ADMIN)
def admin_user_detail(user_id: int):
    return _render_detail(_user_or_404(user_id))


def _back_to(user):
    return redirect(url_for("accounts.admin_user_detail", user_id=user.id))


@bp.route("/admin/users/<int:user_id>/roles", methods=["POST"])
@roles_required(Role.ADMIN)
def admin_user_roles(user_id: int):
    user = _user_or_404(user_id)
    form = UserRolesForm()
    if not form.validate_on_submit():
        return _render_detail(user, form)
    try:
        changed = admin.change_roles(_actor(), user, form.roles.data)
    except admin.AdminError as error:
        db.session.rollback()
        form.roles.errors.append(str(error))
        return _render_detail(user, form)
    db.session.commit()
    if changed:
        flash(_("The roles of %(name)s are saved. They apply from the person's next page.",
                name=user.display_name), "success")
    else:
        flash(_("The roles were already these; nothing changed."), "info")
    return _back_to(user)


def _simple_action(user_id: int, action, done_message: str):
    """Run one change on a person; a refusal comes back as a message on their page."""
    user = _user_or_404(user_id)
    try:
        action(_actor(), user)
    except admin.AdminError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return _back_to(user)
    db.session.commit()
    flash(done_message % {"name": user.display_name}, "success")
    return _back_to(user)


@bp.route("/admin/users/<int:user_id>/disable", methods=["POST"])
@roles_required(Role.ADMIN)
def admin_user_disable(user_id: int):
    return _simple_action(user_id, admin.disable_user,
                          _("The account of %(name)s is disabled and every sign-in has ended."))


@bp.route("/admin/users/<int:user_id>/enable", methods=["POST"])
@roles_required(Role.ADMIN)
def admin_user_enable(user_id: int):
    return _simple_action(user_id, admin.enable_user,
                          _("The account of %(name)s is enabled again. We told them by e-mail."))


@bp.route("/admin/users/<int:user_id>/invitation", methods=["POST"])
@roles_required(Role.ADMIN)
def admin_user_invite(user_id: int):
    return _simple_action(user_id, admin.resend_invitation,
                          _("A new invitation is on its way to %(name)s."))


@bp.route("/admin/users/<int:user_id>/second-factor/reset", methods=["POST"])
@roles_required(Role.ADMIN)
def admin_user_reset_second_factor(user_id: int):
    return _simple_action(user_id, admin.reset_second_factor,
                          _("The two-step sign-in of %(name)s is reset; they will set it up again."))


@bp.route("/admin/users/<int:user_id>/sessions/revoke", methods=["POST"])
@roles_required(Role.ADMIN)
def admin_user_sessions_revoke(user_id: int):
    return _simple_action(user_id, admin.revoke_all_sessions,
                          _("Every sign-in of %(name)s has ended."))


@bp.route("/admin/users/<int:user_id>/sessions/<int:session_id>/revoke", methods=["POST"])
@roles_required(Role.ADMIN)
def admin_user_session_revoke(user_id: int, session_id: int):
    return _simple_action(user_id, lambda actor, user: admin.revoke_session(actor, user, session_id),
                          _("That sign-in of %(name)s has ended."))

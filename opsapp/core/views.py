"""Pages every user shares: home, health, language, notifications, legal pages."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select, text

from opsapp.core import bp, notifications
from opsapp.core.home import panels_for
from opsapp.core.models import Notification
from opsapp.core.pagination import paginate
from opsapp.core.permissions import public, signed_in
from opsapp.core.redirects import safe_next
from opsapp.extensions import db


@bp.route("/healthz")
@public
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any database failure means "not healthy"
        db.session.rollback()
        return {"status": "error", "database": "unavailable"}, 503
    return {"status": "ok", "database": "ok"}


@bp.route("/")
@public
def home():
    if not current_user.is_authenticated:
        return render_template("core/welcome.html")
    return render_template("core/home.html", panels=panels_for(current_user))


@bp.route("/language", methods=["POST"])
@public
def set_language():
    from opsapp.accounts.forms import EmptyForm

    form = EmptyForm()
    lang = request.form.get("lang", "")
    if form.validate_on_submit() and lang in current_app.config["LANGUAGES"]:
        session["locale"] = lang
        if current_user.is_authenticated:
            current_user.locale = lang
            db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("core.home"))


@bp.route("/notifications")
@signed_in
def notifications_list():
    query = (
        select(Notification)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )
    page = paginate(query, per_page=25)
    from opsapp.accounts.forms import EmptyForm

    return render_template("core/notifications.html", page=page, form=EmptyForm())


@bp.route("/notifications/<int:notification_id>/open", methods=["POST"])
@signed_in
def notification_open(notification_id: int):
    from opsapp.accounts.forms import EmptyForm

    notice = db.session.get(Notification, notification_id)
    if notice is None or notice.user_id != current_user.id or not EmptyForm().validate_on_submit():
        return redirect(url_for("core.notifications_list"))
    notifications.mark_read(current_user.id, notice.id)
    db.session.commit()
    return redirect(safe_next(notice.link) or url_for("core.notifications_list"))


@bp.route("/notifications/read-all", methods=["POST"])
@signed_in
def notifications_read_all():
    from opsapp.accounts.forms import EmptyForm

    if EmptyForm().validate_on_submit():
        notifications.mark_read(current_user.id)
        db.session.commit()
        flash(_("All notifications are marked as read."), "success")
    return redirect(url_for("core.notifications_list"))


@bp.route("/accessibility")
@public
def accessibility():
    return render_template("core/accessibility.html")


@bp.route("/privacy")
@public
def privacy():
    return render_template("core/privacy.html")

"""The privacy centre: a signed-in person sees what opsapp holds about them, downloads it as
JSON, and asks for the erasure of their account (the rules are in `privacy.py`)."""

from __future__ import annotations

import json

from flask import Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from opsapp.accounts.forms import EmptyForm, PasswordConfirmForm
from opsapp.core import bp
from opsapp.core.permissions import signed_in
from opsapp.core.timeutil import to_local, utcnow
from opsapp.extensions import db


def _privacy():
    # Imported late: the rules use accounts, and accounts imports core while it loads.
    from opsapp.core import privacy

    return privacy


@bp.route("/account/privacy")
@signed_in
def privacy_centre():
    privacy = _privacy()
    user = current_user._get_current_object()
    return render_template(
        "core/privacy_centre.html", user=user, held=privacy.held_records(user),
        organisations=privacy.organisations_of(user), export_form=EmptyForm(),
    )


@bp.route("/account/privacy/export", methods=["POST"])
@signed_in
def privacy_export():
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("core.privacy_centre"))
    user = current_user._get_current_object()
    document = _privacy().export_data(user)
    db.session.commit()
    day = to_local(utcnow(), user.timezone).date().isoformat()
    response = Response(json.dumps(document, ensure_ascii=False, indent=2),
                        mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="opsapp-data-{day}.json"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/account/privacy/erase", methods=["GET", "POST"])
@signed_in
def privacy_erase():
    privacy = _privacy()
    user = current_user._get_current_object()
    form = PasswordConfirmForm()
    if form.validate_on_submit():
        try:
            privacy.erase(user, form.password.data)
        except privacy.WrongPassword as error:
            form.password.errors.append(str(error))
        except privacy.ErasureRefused as error:
            summary = privacy.erasure_summary(user)
            if str(error) not in summary.blockers:  # the page shows the blockers already
                flash(str(error), "danger")
            return render_template("core/privacy_erase.html", form=form, summary=summary)
        else:
            db.session.commit()
            flash(_("Your account is erased and you are signed out. We sent a confirmation to your e-mail address."),
                  "success")
            return redirect(url_for("core.home"))
    return render_template("core/privacy_erase.html", form=form, summary=privacy.erasure_summary(user))

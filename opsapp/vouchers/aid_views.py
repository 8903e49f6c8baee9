"""Pages of a company's de minimis aid: its history and the aid it declares from other grantors.

- `vouchers.aid_history` (GET, staff and the organisation's members; anyone else 404): the
  vouchers granted here, the aid declared, the single undertaking (linked enterprises found)
  and the de minimis position today under the default ceiling;
- `vouchers.declare_aid` (GET/POST, members and staff): grantor, date, amount, description;
  `?application=<id>` (one of the organisation's own applications) records that it was
  declared in that application;
- `vouchers.declared_aid_delete` (POST): members while no voucher was granted after the
  declaration, staff always.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from opsapp.accounts.forms import EmptyForm
from opsapp.core.permissions import signed_in
from opsapp.extensions import db
from opsapp.vouchers import bp, grants
from opsapp.vouchers.grant_forms import AidForm
from opsapp.vouchers.grant_views import show_problems
from opsapp.vouchers.models import DEMINIMIS_CEILING, DEMINIMIS_YEARS
from opsapp.vouchers.pages import VoucherError, actor, link_to, refuse_action, render


@bp.route("/organisations/<int:organisation_id>/aid")
@signed_in
def aid_history(organisation_id: int):
    history = grants.aid_history(actor(), organisation_id)
    return render("aid/history.html", history=history, organisation=history.organisation,
                  position_message=grants.position_message(history.position), ceiling=DEMINIMIS_CEILING,
                  period=grants.period_words(DEMINIMIS_YEARS), counted=grants.deminimis.counted,
                  empty_form=EmptyForm())


@bp.route("/organisations/<int:organisation_id>/aid/declare", methods=["GET", "POST"])
@signed_in
def declare_aid(organisation_id: int):
    organisation = grants.organisation_for_aid(actor(), organisation_id)
    application = grants.application_for_declaration(actor(), organisation, request.args.get("application"))
    form = AidForm()
    data = grants.AidData(grantor=form.grantor.data or "", granted_on=form.granted_on.data,
                          amount=form.amount.data, description=form.description.data or "",
                          application_id=application.id if application else None)
    if request.method == "POST" and not form.validate_on_submit():
        if not form.csrf_token.errors:
            # The other fields' problems too, so that everything to fix shows at once.
            for field_name, message in grants.aid_problems(organisation, data):
                if field_name in form and not form[field_name].errors:
                    form[field_name].errors = [*form[field_name].errors, message]
    elif request.method == "POST":
        try:
            grants.declare_aid(actor(), organisation, data)
        except VoucherError as error:
            show_problems(form, error)
        else:
            db.session.commit()
            flash(_("The aid from %(grantor)s is declared. It counts towards the de minimis ceiling.",
                    grantor=data.grantor), "success")
            back = link_to("calls.application_detail", application_id=application.id) if application else None
            return redirect(back or url_for("vouchers.aid_history", organisation_id=organisation_id))
    return render("aid/declare.html", form=form, organisation=organisation, application=application,
                  application_link=link_to("calls.application_detail", application_id=application.id)
                  if application else None)


@bp.route("/organisations/<int:organisation_id>/aid/<int:aid_id>/delete", methods=["POST"])
@signed_in
def declared_aid_delete(organisation_id: int, aid_id: int):
    organisation = grants.organisation_for_aid(actor(), organisation_id)
    back = url_for("vouchers.aid_history", organisation_id=organisation_id)
    if not EmptyForm().validate_on_submit():
        flash(_("The form had expired. Send it again."), "danger")
        return redirect(back)
    try:
        aid = grants.delete_declared_aid(actor(), organisation, aid_id)
    except VoucherError as error:
        refuse_action(error)
        return redirect(back)
    grantor = aid.grantor
    db.session.commit()
    flash(_("The declaration of the aid from %(grantor)s is deleted.", grantor=grantor), "success")
    return redirect(back)

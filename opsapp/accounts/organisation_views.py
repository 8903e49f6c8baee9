"""Organisation pages: the profile with its size class, related enterprises, members and
documents; the staff list with filters and CSV export; the list of S3 domains.

Each view declares who may open it, reads its form, calls one service of
`organisations.py` (which checks the object-level rights) and commits once. A refused
form is shown again with what was typed and the reasons next to the fields. The
module also registers the navigation entries and the home panels of organisations.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from opsapp.accounts import bp, organisations, sme
from opsapp.accounts.forms import EmptyForm
from opsapp.accounts.organisation_forms import (
    DocumentForm,
    MemberForm,
    MemberRoleForm,
    OrganisationFilterForm,
    OrganisationForm,
    OwnershipLinkForm,
    S3DomainForm,
    S3DomainRenameForm,
    SizeDataForm,
    country_name,
)
from opsapp.accounts.organisations import OrganisationError
from opsapp.core import exports, files, home, navigation
from opsapp.core.permissions import roles_required, signed_in
from opsapp.core.roles import Role
from opsapp.extensions import db

navigation.register(_l("My organisation"), "accounts.my_organisation", [Role.APPLICANT, Role.BUYER], order=20)
navigation.register(_l("Organisations"), "accounts.organisation_list", [Role.STAFF, Role.ADMIN], order=60)
navigation.register(_l("S3 domains"), "accounts.s3_domains", [Role.STAFF, Role.ADMIN], order=90)

TEMPLATES = "accounts/organisations/"


def _actor():
    return current_user._get_current_object()


def _home_region() -> str:
    return current_app.config["HOME_REGION_NUTS2"]


def _refuse(form, error: OrganisationError) -> None:
    """Undo what the service flushed and put its message next to the field it concerns."""
    db.session.rollback()
    message = str(error.message)
    if error.field and error.field in form:
        form[error.field].errors = [*form[error.field].errors, message]
    else:
        form.form_errors.append(message)


def _refuse_action(error: OrganisationError) -> None:
    """For buttons (no typed input): undo and say why at the top of the next page."""
    db.session.rollback()
    flash(str(error.message), "danger")


@bp.app_template_filter("size_class_label")
def _size_class_label(value: str | None) -> str:
    return organisations.size_class_label(value)


_RELATIONSHIP_LABELS = {
    sme.Relationship.LINKED: _l("in full (linked)"),
    sme.Relationship.PARTNER: _l("pro rata (partner)"),
    sme.Relationship.AUTONOMOUS: _l("not counted (under 25%)"),
}


@bp.app_template_filter("ownership_relationship")
def _ownership_relationship(share_percent) -> str:
    return str(_RELATIONSHIP_LABELS[sme.relationship_for(share_percent)])


@bp.app_template_filter("decimal_number")
def _decimal_number(value) -> str:
    return organisations.format_number(value) if value is not None else ""


@bp.app_template_filter("country_name")
def _country_name(code: str | None) -> str:
    return country_name(code)


# --- home panels -------------------------------------------------------------------


@home.panel(Role.APPLICANT, Role.BUYER, order=15)
def _your_organisation_panel(user):
    mine = organisations.organisations_of(user)
    entries = [(org, organisations.completeness(org)) for org in mine]
    return home.Panel(_l("Your organisation"), TEMPLATES + "_panel_mine.html", {"entries": entries})


@home.panel(Role.STAFF, order=60)
def _recent_organisations_panel(user):
    return home.Panel(_l("Organisations registered recently"), TEMPLATES + "_panel_recent.html",
                      {"organisations": organisations.recent_organisations(5)})


# --- list and export (staff) -------------------------------------------------------


def _filter_form() -> OrganisationFilterForm:
    return OrganisationFilterForm(formdata=request.args, s3_domains=organisations.s3_domains())


@bp.route("/organisations")
@roles_required(Role.STAFF, Role.ADMIN)
def organisation_list():
    form = _filter_form()
    page = organisations.list_organisations(_actor(), form.filters(), _home_region())
    export_args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(TEMPLATES + "list.html", form=form, page=page, home_region=_home_region(),
                           export_args=export_args, filtered=bool(export_args))


@bp.route("/organisations/export.csv", defaults={"fmt": "csv"})
@bp.route("/organisations/export.xlsx", defaults={"fmt": "xlsx"})
@roles_required(Role.STAFF, Role.ADMIN)
def organisation_export(fmt: str):
    rows = organisations.export_rows(_actor(), _filter_form().filters(), _home_region())
    db.session.commit()  # the export is audited
    header = organisations.CSV_COLUMNS
    if fmt == "xlsx":
        return exports.download(exports.xlsx_bytes([("Organisations", header, rows)]), "organisations.xlsx")
    return exports.download(exports.csv_text(header, rows), "organisations.csv")


# --- register and edit the profile -------------------------------------------------


@bp.route("/organisations/mine")
@roles_required(Role.APPLICANT, Role.BUYER)
def my_organisation():
    mine = organisations.organisations_of(_actor())
    if not mine:
        flash(_("Register your organisation first: calls, events and vouchers need it."), "info")
        return redirect(url_for("accounts.organisation_new"))
    if len(mine) == 1:
        return redirect(url_for("accounts.organisation_detail", organisation_id=mine[0].id))
    return render_template(TEMPLATES + "choose.html", organisations=mine)


@bp.route("/organisations/new", methods=["GET", "POST"])
@roles_required(Role.APPLICANT, Role.BUYER, Role.STAFF, Role.ADMIN)
def organisation_new():
    form = OrganisationForm(s3_domains=organisations.s3_domain_choices())
    if form.validate_on_submit():
        try:
            organisation = organisations.create_organisation(_actor(), organisations.Profile.from_mapping(form.data))
        except OrganisationError as error:
            _refuse(form, error)
            return render_template(TEMPLATES + "form.html", form=form, organisation=None)
        db.session.commit()
        flash(_("%(name)s is registered. Add its size data so that its size class can be worked out.",
                name=organisation.legal_name), "success")
        return redirect(url_for("accounts.organisation_detail", organisation_id=organisation.id))
    return render_template(TEMPLATES + "form.html", form=form, organisation=None)


@bp.route("/organisations/<int:organisation_id>")
@signed_in
def organisation_detail(organisation_id: int):
    page = organisations.organisation_page(_actor(), organisation_id)
    return render_template(TEMPLATES + "detail.html", page=page, org=page.organisation,
                           home_region=_home_region(), empty_form=EmptyForm())


@bp.route("/organisations/<int:organisation_id>/edit", methods=["GET", "POST"])
@signed_in
def organisation_edit(organisation_id: int):
    organisation = organisations.for_managing(_actor(), organisation_id)
    form = OrganisationForm(obj=organisation, s3_domain_ids=[d.id for d in organisation.s3_domains],
                            s3_domains=organisations.s3_domain_choices(organisation))
    if form.validate_on_submit():
        try:
            organisations.update_profile(_actor(), organisation, organisations.Profile.from_mapping(form.data))
        except OrganisationError as error:
            _refuse(form, error)
            return render_template(TEMPLATES + "form.html", form=form, organisation=organisation)
        db.session.commit()
        flash(_("The profile is saved."), "success")
        return redirect(url_for("accounts.organisation_detail", organisation_id=organisation.id))
    return render_template(TEMPLATES + "form.html", form=form, organisation=organisation)


# --- size data and related enterprises ---------------------------------------------


def _size_page(organisation, form: SizeDataForm, link_form: OwnershipLinkForm):
    result = organisations.assess(organisation)
    return render_template(TEMPLATES + "size.html", org=organisation, form=form, link_form=link_form,
                           assessment=result, reasons=organisations.explain(result), empty_form=EmptyForm())


@bp.route("/organisations/<int:organisation_id>/size", methods=["GET", "POST"])
@signed_in
def organisation_size(organisation_id: int):
    organisation = organisations.for_managing(_actor(), organisation_id)
    form = SizeDataForm(obj=organisation)
    link_form = OwnershipLinkForm(formdata=None)
    if form.validate_on_submit():
        data = organisations.SizeData(form.staff_headcount.data, form.annual_turnover.data,
                                      form.balance_sheet_total.data, form.public_control.data)
        try:
            result = organisations.save_size_data(_actor(), organisation, data)
        except OrganisationError as error:
            _refuse(form, error)
            return _size_page(organisation, form, link_form)
        db.session.commit()
        flash(_("The size data are saved. Size class: %(size)s.",
                size=organisations.size_class_label(result.size_class)), "success")
        return redirect(url_for("accounts.organisation_detail", organisation_id=organisation.id))
    return _size_page(organisation, form, link_form)


@bp.route("/organisations/<int:organisation_id>/links", methods=["POST"])
@signed_in
def organisation_link_add(organisation_id: int):
    organisation = organisations.for_managing(_actor(), organisation_id)
    link_form = OwnershipLinkForm()
    if link_form.validate_on_submit():
        data = organisations.RelatedEnterpriseData(**{
            name: link_form[name].data for name in (
                "enterprise_name", "enterprise_vat", "direction", "share_percent", "staff_headcount",
                "annual_turnover", "balance_sheet_total")})
        try:
            organisations.add_ownership_link(_actor(), organisation, data)
        except OrganisationError as error:
            _refuse(link_form, error)
        else:
            db.session.commit()
            flash(_("%(name)s is added. Size class now: %(size)s.", name=data.enterprise_name.strip(),
                    size=organisations.size_class_label(organisation.size_class)), "success")
            return redirect(url_for("accounts.organisation_size", organisation_id=organisation.id))
    return _size_page(organisation, SizeDataForm(formdata=None, obj=organisation), link_form)


@bp.route("/organisations/<int:organisation_id>/links/<int:link_id>/delete", methods=["POST"])
@signed_in
def organisation_link_remove(organisation_id: int, link_id: int):
    organisation = organisations.for_managing(_actor(), organisation_id)
    if EmptyForm().validate_on_submit():
        organisations.remove_ownership_link(_actor(), organisation, link_id)
        db.session.commit()
        flash(_("The related enterprise is removed. Size class now: %(size)s.",
                size=organisations.size_class_label(organisation.size_class)), "success")
    return redirect(url_for("accounts.organisation_size", organisation_id=organisation.id))


# --- members -----------------------------------------------------------------------


def _members_page(organisation, form: MemberForm):
    members = organisations.members_of(organisation)
    role_forms = {m.id: MemberRoleForm(formdata=None, role=m.role, prefix=f"member-{m.id}") for m in members}
    return render_template(TEMPLATES + "members.html", org=organisation, form=form, members=members,
                           role_forms=role_forms, empty_form=EmptyForm())


@bp.route("/organisations/<int:organisation_id>/members", methods=["GET", "POST"])
@signed_in
def organisation_members(organisation_id: int):
    organisation = organisations.for_managing(_actor(), organisation_id)
    form = MemberForm()
    if form.validate_on_submit():
        try:
            membership = organisations.add_member(_actor(), organisation, form.email.data, form.role.data,
                                                  form.position.data)
        except OrganisationError as error:
            _refuse(form, error)
            return _members_page(organisation, form)
        db.session.commit()
        flash(_("%(name)s is now a member. They have been told by e-mail.",
                name=membership.user.display_name), "success")
        return redirect(url_for("accounts.organisation_members", organisation_id=organisation.id))
    return _members_page(organisation, form)


@bp.route("/organisations/<int:organisation_id>/members/<int:membership_id>/role", methods=["POST"])
@signed_in
def organisation_member_role(organisation_id: int, membership_id: int):
    organisation = organisations.for_managing(_actor(), organisation_id)
    form = MemberRoleForm(prefix=f"member-{membership_id}")
    if form.validate_on_submit():
        try:
            organisations.change_member_role(_actor(), organisation, membership_id, form.role.data)
        except OrganisationError as error:
            _refuse_action(error)
        else:
            db.session.commit()
            flash(_("The role is changed."), "success")
    else:
        flash(_("Choose a role from the list."), "danger")
    return redirect(url_for("accounts.organisation_members", organisation_id=organisation.id))


@bp.route("/organisations/<int:organisation_id>/members/<int:membership_id>/delete", methods=["POST"])
@signed_in
def organisation_member_remove(organisation_id: int, membership_id: int):
    actor = _actor()
    organisation = organisations.get_organisation(organisation_id)
    if EmptyForm().validate_on_submit():
        try:
            organisations.remove_member(actor, organisation, membership_id)
        except OrganisationError as error:
            _refuse_action(error)
        else:
            db.session.commit()
            flash(_("The member is removed."), "success")
    if organisations.can_manage(actor, organisation):
        return redirect(url_for("accounts.organisation_members", organisation_id=organisation.id))
    return redirect(url_for("core.home"))  # someone who left no longer sees the organisation


# --- documents ---------------------------------------------------------------------


def _documents_page(organisation, form: DocumentForm):
    actor = _actor()
    documents = organisations.documents_of(organisation)
    deletable = {d.id for d in documents if organisations.can_delete_document(actor, organisation, d)}
    return render_template(TEMPLATES + "documents.html", org=organisation, form=form, documents=documents,
                           deletable=deletable, empty_form=EmptyForm())


@bp.route("/organisations/<int:organisation_id>/documents", methods=["GET", "POST"])
@signed_in
def organisation_documents(organisation_id: int):
    organisation = organisations.for_viewing(_actor(), organisation_id)
    form = DocumentForm()
    if form.validate_on_submit():
        try:
            stored = organisations.upload_document(_actor(), organisation, form.file.data, form.description.data)
        except OrganisationError as error:
            _refuse(form, error)
            return _documents_page(organisation, form)
        db.session.commit()
        flash(_("%(name)s is uploaded.", name=stored.original_name), "success")
        return redirect(url_for("accounts.organisation_documents", organisation_id=organisation.id))
    return _documents_page(organisation, form)


@bp.route("/organisations/<int:organisation_id>/documents/<int:file_id>")
@signed_in
def organisation_document_download(organisation_id: int, file_id: int):
    stored = organisations.document_for_download(_actor(), organisation_id, file_id)
    db.session.commit()  # the audit entry of the download
    return files.send(stored)


@bp.route("/organisations/<int:organisation_id>/documents/<int:file_id>/delete", methods=["POST"])
@signed_in
def organisation_document_delete(organisation_id: int, file_id: int):
    organisation = organisations.for_viewing(_actor(), organisation_id)
    if EmptyForm().validate_on_submit():
        organisations.delete_document(_actor(), organisation, file_id)
        db.session.commit()
        flash(_("The document is deleted."), "success")
    return redirect(url_for("accounts.organisation_documents", organisation_id=organisation.id))


# --- S3 domains (staff) ------------------------------------------------------------


def _s3_page(form: S3DomainForm, edited: dict | None = None):
    domains = organisations.s3_domains()
    edit_forms = {d.id: S3DomainRenameForm(formdata=None, obj=d, prefix=f"domain-{d.id}") for d in domains}
    edit_forms.update(edited or {})
    return render_template(TEMPLATES + "s3_domains.html", form=form, domains=domains, edit_forms=edit_forms,
                           empty_form=EmptyForm(), locale=str(get_locale() or "en"))


@bp.route("/s3-domains", methods=["GET", "POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def s3_domains():
    form = S3DomainForm()
    if form.validate_on_submit():
        try:
            domain = organisations.add_s3_domain(_actor(), form.name_en.data, form.name_it.data)
        except OrganisationError as error:
            _refuse(form, error)
            return _s3_page(form)
        db.session.commit()
        flash(_("%(name)s is added to the S3 domains.", name=domain.name_en), "success")
        return redirect(url_for("accounts.s3_domains"))
    return _s3_page(form)


@bp.route("/s3-domains/<int:domain_id>", methods=["POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def s3_domain_edit(domain_id: int):
    form = S3DomainRenameForm(prefix=f"domain-{domain_id}")
    if form.validate_on_submit():
        try:
            organisations.rename_s3_domain(_actor(), domain_id, form.name_en.data, form.name_it.data)
        except OrganisationError as error:
            _refuse(form, error)
        else:
            db.session.commit()
            flash(_("The names are saved."), "success")
            return redirect(url_for("accounts.s3_domains"))
    return _s3_page(S3DomainForm(formdata=None), {domain_id: form})


@bp.route("/s3-domains/<int:domain_id>/active", methods=["POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def s3_domain_toggle(domain_id: int):
    if EmptyForm().validate_on_submit():
        active = request.form.get("active") == "1"
        domain = organisations.set_s3_domain_active(_actor(), domain_id, active)
        db.session.commit()
        flash(_("%(name)s can be chosen again.", name=domain.name_en) if active else
              _("%(name)s is deactivated: it can no longer be chosen; organisations that have it keep it.",
                name=domain.name_en), "success")
    return redirect(url_for("accounts.s3_domains"))


@bp.route("/s3-domains/defaults", methods=["POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def s3_domain_defaults():
    if EmptyForm().validate_on_submit():
        added = organisations.ensure_default_s3_domains(_actor())
        db.session.commit()
        flash(_("%(num)d domains added.", num=added), "success")
    return redirect(url_for("accounts.s3_domains"))

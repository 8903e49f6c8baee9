"""The targets staff set for each edition.

- `kpi.targets` `GET|POST /kpi/targets?programme=&edition=` (staff, admin): choose a programme
  and one of its editions, then one field per measure of the programme and of its ERDF common
  indicators with its unit and current target. Saving sets the targets that changed (each
  one audited by `monitoring.set_target`); an empty field removes a target. If any field is
  refused, nothing is saved and every field keeps what was typed.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from opsapp.core.pages import actor, link_to
from opsapp.core.permissions import roles_required
from opsapp.core.roles import PROGRAMME_STAFF
from opsapp.extensions import db
from opsapp.kpi import bp, monitoring
from opsapp.kpi.catalogue import INDICATORS, measures_of
from opsapp.kpi.dashboard_tables import number_text
from opsapp.kpi.dashboard_views import read_programme
from opsapp.kpi.target_forms import field_name, targets_form


def _choice(args) -> tuple[str, list[int], int | None, list[str]]:
    """The programme and edition (year) asked for; unknown values are ignored with a message."""
    notices = []
    programme = read_programme(args, notices)
    years = monitoring.editions(programme)
    raw = (args.get("edition") or "").strip()
    edition = years[-1] if years else None
    if raw:
        if raw.isdigit() and int(raw) in years:
            edition = int(raw)
        else:
            notices.append(_("There is no edition \"%(value)s\" of this programme: the latest one is shown.",
                             value=raw[:40]))
    return programme, years, edition, notices


def _sections(programme: str, form) -> list[tuple[str, list[tuple[str, list]]]]:
    """The fields grouped by indicator: [(section title, [(indicator title, fields)])]."""
    out = []
    for title, erdf in ((_("Indicators of the programme"), False), (_("ERDF common indicators"), True)):
        groups: dict[str, list] = {}
        for measure in measures_of(programme, erdf=erdf):
            groups.setdefault(measure.indicator, []).append(form[field_name(measure.key)])
        out.append((title, [(f"{code} {INDICATORS[code].name}", fields) for code, fields in groups.items()]))
    return out


@bp.route("/kpi/targets", methods=["GET", "POST"], endpoint="targets")
@roles_required(*PROGRAMME_STAFF)
def targets():
    programme, years, edition, notices = _choice(request.args)
    measures = measures_of(programme) + measures_of(programme, erdf=True)
    current = monitoring.targets(programme, edition) if edition is not None else {}
    edition_id = monitoring.edition_id(programme, edition) if edition is not None else None
    form = targets_form(measures, current, formdata=request.form if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and edition_id is not None:
        if form.validate_on_submit():
            changed = [(m, form[field_name(m.key)].target) for m in measures
                       if form[field_name(m.key)].target != current.get(m.key)]
            failed = False
            for measure, value in changed:
                try:
                    monitoring.set_target(actor(), measure.key, edition_id, value)
                except monitoring.KpiError as error:
                    db.session.rollback()
                    form[field_name(measure.key)].errors.append(str(error.message))
                    failed = True
                    break
            if not failed:
                db.session.commit()
                if changed:
                    flash(ngettext("%(num)d target of the %(year)d edition saved.",
                                   "%(num)d targets of the %(year)d edition saved.", len(changed), year=edition),
                          "success")
                else:
                    flash(_("Nothing changed: the targets are as they were."), "info")
                return redirect(url_for("kpi.targets", programme=programme, edition=edition))
        status = 400
    shown = {m.key: (number_text(float(current[m.key]), m.unit) if m.key in current else _("no target yet"))
             for m in measures}
    return render_template(
        "kpi/targets.html", form=form, programme=programme, programmes=monitoring.programmes(), years=years,
        edition=edition, notices=notices, sections=_sections(programme, form), shown=shown,
        field_measure={field_name(m.key): m.key for m in measures}, editions_link=link_to("calls.editions"),
    ), status

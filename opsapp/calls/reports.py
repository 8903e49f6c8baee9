"""The call's Word documents: the decision letter to each applicant and the evaluation
summary report for the regional authority.

Both are built with python-docx on Word's own styles (Title, Heading 1-2, List Bullet,
Table Grid with a repeated header row) so that they open, print and convert to PDF in
Word and LibreOffice alike, with the region's header and "page N of M" in the footer.
The letter is written in the recipient's language; the report in the reader's. Their
content comes from the read functions of `decisions.py`; nothing here queries the
database. The building blocks (styles, header and footer, tables) are `core.word`'s.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from docx.enum.text import WD_ALIGN_PARAGRAPH
from flask_babel import force_locale, format_date, format_decimal, get_locale
from flask_babel import gettext as _

from opsapp.accounts.organisations import size_class_label
from opsapp.calls import decisions, eligibility, scoring
from opsapp.calls.decisions import Letter, Summary
from opsapp.calls.models import Outcome, PlaceStatus
from opsapp.core import word
from opsapp.core.timeutil import to_local, utcnow

DOCX_MIMETYPE = word.DOCX_MIMETYPE


# --- building blocks ----------------------------------------------------------------------


def _number(value: Decimal | int | None, places: str = "0.01") -> str:
    """A score or total for people: rounded for display only, in the document's language."""
    if value is None:
        return "–"
    if isinstance(value, int):
        return format_decimal(value, format="#,##0")
    return format_decimal(scoring.round_score(Decimal(value), places), format="#,##0.##")


def _day(value, timezone: str) -> str:
    if value is None:
        return "–"
    return format_date(to_local(value, timezone).date(), format="long")


def _header_lines(call) -> list[str]:
    edition = call.edition
    lines = [_("Regione Piemonte · innovation programmes"),
             f"{edition.programme.name(str(get_locale() or 'en'))} {edition.year}"]
    if edition.implementing_organisation is not None:
        lines.append(_("Implemented by %(organisation)s", organisation=edition.implementing_organisation.legal_name))
    return lines


# --- the decision letter ------------------------------------------------------------------


def decision_letter(actor, application_id: int) -> tuple[str, bytes]:
    """The letter (filename, bytes) in the recipient's language; only after the decision."""
    data = decisions.letter(actor, application_id)
    with force_locale(data.locale):
        content = word.save(_build_letter(data))
    reference = data.application.receipt_number or f"application-{data.application.id}"
    return f"decision-letter-{word.safe_name(reference)}.docx", content


def _outcome_paragraphs(data: Letter) -> tuple[str, list[str]]:
    """The outcome in plain words, and what to do next."""
    org, call, tz = data.organisation.legal_name, data.call.title, data.call.timezone
    application = data.application
    if data.kind == Outcome.SELECTED:
        if data.promoted:
            outcome = _("A place has become available: %(organisation)s, first on the reserve list, is now "
                        "selected for %(call)s.", organisation=org, call=call)
        else:
            outcome = _("We are pleased to tell you that %(organisation)s is selected for %(call)s "
                        "(rank %(rank)s of the ranking).", organisation=org, call=call, rank=application.rank)
        if application.place_status == PlaceStatus.ACCEPTED:
            steps = [_("You accepted the place on %(date)s. The programme staff will contact you about the "
                       "start of the programme.", date=_day(application.place_answered_at, tz))]
        elif application.place_status == PlaceStatus.DECLINED:
            steps = [_("You declined the place on %(date)s; it was offered to the next on the reserve list.",
                       date=_day(application.place_answered_at, tz))]
        else:
            steps = [_("Accept or decline your place in opsapp by %(date)s, on your application's page:",
                       date=_day(data.answer_by, tz)), data.application_url,
                     _("If you decline, the place goes to the first applicant on the reserve list.")]
    elif data.kind == Outcome.RESERVE:
        outcome = _("%(organisation)s passed every threshold of %(call)s and is on the reserve list, in "
                    "position %(position)s.", organisation=org, call=call, position=application.reserve_position)
        steps = [_("If a selected applicant declines its place, the place goes to the first on the reserve "
                   "list. You will be told by e-mail if a place is offered to you.")]
    elif data.kind == "ineligible":
        outcome = _("We regret to tell you that %(organisation)s could not be admitted to %(call)s: the "
                    "application does not meet the call's eligibility rules.", organisation=org, call=call)
        steps = [_("The rules that were not met are listed below.")]
    else:
        outcome = _("We regret to tell you that %(organisation)s is not selected for %(call)s: the "
                    "application did not reach every threshold.", organisation=org, call=call)
        steps = [_("The scores and the evaluators' comments below say where the application fell short. "
                   "You are welcome to apply again to a later call.")]
    return outcome, steps


def _build_letter(data: Letter):
    call, application, tz = data.call, data.application, data.call.timezone
    document = word.new_document(_("Decision letter"), _header_lines(call))
    document.add_paragraph(_day(application.decided_at, tz)).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    to = document.add_paragraph()
    to.add_run(word.clean(data.organisation.legal_name)).bold = True
    address = ", ".join(p for p in (data.organisation.address, " ".join(
        x for x in (data.organisation.postcode, data.organisation.city) if x)) if p)
    if address:
        to.add_run().add_break()
        to.add_run(word.clean(address))
    document.add_paragraph(word.clean(_("Application %(receipt)s",
                                    receipt=application.receipt_number or application.id)))
    document.add_heading(word.clean(call.title), level=0)

    outcome, steps = _outcome_paragraphs(data)
    document.add_heading(_("Outcome"), level=1)
    document.add_paragraph(word.clean(outcome))
    document.add_heading(_("Next steps"), level=1)
    for step in steps:
        document.add_paragraph(word.clean(step))

    if data.kind == "ineligible":
        document.add_heading(_("Eligibility"), level=1)
        for result in data.eligibility_failures:
            label = eligibility.RULE_LABELS.get(result.get("code"), result.get("code"))
            document.add_paragraph(word.clean(f"{label}: {eligibility.describe(result)}"), style="List Bullet")
        if application.eligibility_reason:
            document.add_paragraph(word.clean(_("The programme staff's assessment: %(reason)s",
                                            reason=application.eligibility_reason)))
    else:
        _letter_scores(document, data)
    document.add_paragraph()
    closing = document.add_paragraph(_("For the programme staff"))
    if data.edition.implementing_organisation is not None:
        closing.add_run().add_break()
        closing.add_run(word.clean(data.edition.implementing_organisation.legal_name))
    return document


def _letter_scores(document, data: Letter) -> None:
    document.add_heading(_("Scores"), level=1)
    document.add_paragraph(_(
        "Each criterion is scored from 0 to its maximum by independent evaluators; the final score is the "
        "%(how)s of their scores, or the panel's consensus where their scores diverged.",
        how=_("median") if data.call.aggregation == "median" else _("mean")))
    rows = []
    for c in data.criteria:
        met = "–" if c.passes is None or c.threshold is None else (_("met") if c.passes else _("not met"))
        rows.append([c.name, _number(c.weight), f"{_number(c.final)} / {_number(c.max_score)}",
                     _number(c.threshold) if c.threshold is not None else "–", met])
    word.table(document, [_("Criterion"), _("Weight"), _("Final score"), _("Threshold"), _("Threshold met?")],
           rows, numeric=(1, 2, 3), widths=(6.6, 2.0, 2.6, 2.3, 3.1))
    total = document.add_paragraph()
    total.add_run(_("Total: %(total)s of %(max)s (overall threshold %(threshold)s).",
                    total=_number(data.total), max=_number(data.max_total),
                    threshold=_number(data.overall_threshold))).bold = True
    if data.weighted_total is not None:
        document.add_paragraph(_("Weighted total, used for the ranking: %(total)s.",
                                 total=_number(data.weighted_total)))
    if data.failed:
        names = [_("the overall threshold") if f == "overall" else f for f in data.failed]
        document.add_paragraph(word.clean(_("Thresholds not met: %(names)s.", names=", ".join(names))))

    document.add_heading(_("The evaluators' comments"), level=1)
    for c in data.criteria:
        document.add_heading(word.clean(c.name), level=2)
        line = _("Final score %(score)s of %(max)s", score=_number(c.final), max=_number(c.max_score))
        if c.threshold is not None:
            line += " " + _("(threshold %(threshold)s)", threshold=_number(c.threshold))
        document.add_paragraph(line + ".")
        for number, comment in c.comments:
            paragraph = document.add_paragraph(style="List Bullet")
            paragraph.add_run(_("Evaluator %(n)d", n=number) + ": ").bold = True
            paragraph.add_run(word.clean(comment.strip()))
        if not c.comments:
            document.add_paragraph(_("No comment was given."))
        if c.consensus is not None:
            paragraph = document.add_paragraph()
            paragraph.add_run(_("Consensus of the panel: %(score)s.", score=_number(c.consensus)) + " ").bold = True
            paragraph.add_run(word.clean(_("The evaluators' scores diverged; the panel agreed on this score "
                                       "because: %(justification)s", justification=c.justification or "")))


# --- the evaluation summary report --------------------------------------------------------


def summary_report(actor, call_id: int) -> tuple[str, bytes]:
    """The evaluation summary report (filename, bytes) in the reader's language."""
    locale = str(get_locale() or "en")
    data = decisions.summary(actor, call_id, locale)
    content = word.save(_build_summary(data, locale))
    stamp = to_local(utcnow(), data.call.timezone).date().isoformat()
    return f"evaluation-summary-{data.call.id}-{stamp}.docx", content


def _outcome_words(row) -> str:
    if row.outcome == Outcome.RESERVE and row.reserve_position:
        return _("Reserve list (%(position)s)", position=row.reserve_position)
    words = decisions.outcome_label(row.outcome)
    if row.application.place_status:
        words += "\n" + _PLACE_SHORT[row.application.place_status]()
    return words


_PLACE_SHORT = {
    PlaceStatus.OFFERED: lambda: _("place offered"),
    PlaceStatus.ACCEPTED: lambda: _("place accepted"),
    PlaceStatus.DECLINED: lambda: _("place declined"),
}


def _build_summary(data: Summary, locale: str):
    call, tz = data.call, data.call.timezone
    document = word.new_document(_("Evaluation summary report"), _header_lines(call))
    document.add_heading(_("Evaluation summary report"), level=0)
    document.add_paragraph(word.clean(call.title)).runs[0].bold = True
    document.add_paragraph(_("Produced on %(date)s.", date=_day(utcnow(), tz)))
    if data.provisional:
        document.add_paragraph(_("Provisional: the call is still in evaluation and the ranking below is a "
                                 "proposal, not a decision."))

    document.add_heading(_("The call"), level=1)
    edition = call.edition
    facts = [
        (_("Programme"), edition.programme.name(locale)),
        (_("Edition"), str(edition.year)),
        (_("Implementing organisation"),
         edition.implementing_organisation.legal_name if edition.implementing_organisation else "–"),
        (_("Open from"), _day(call.opens_at, tz)),
        (_("Deadline"), _day(call.closes_at, tz)),
        (_("Decided on"), _day(call.decided_at, tz) if call.decided_at else "–"),
        (_("Places"), _number(call.places)),
        (_("Evaluators per application"), _number(call.evaluators_per_application)),
        (_("Aggregation of the scores"), _("median") if call.aggregation == "median" else _("mean")),
        (_("Divergence that calls for moderation"), _("%(points)s points", points=_number(call.divergence))),
        (_("Overall threshold"), _("%(threshold)s of %(max)s", threshold=_number(data.rules.effective_overall_threshold),
                                   max=_number(data.rules.max_total))),
        (_("Blind evaluation"), _("Yes") if call.blind else _("No")),
    ]
    word.facts(document, facts)
    document.add_heading(_("Evaluation criteria"), level=2)
    word.table(document, [_("Priority"), _("Criterion"), _("Weight"), _("Maximum"), _("Threshold")],
           ([_number(i), c.name, _number(c.weight), _number(c.max_score),
             _number(c.threshold) if c.threshold is not None else "–"]
            for i, c in enumerate(data.criteria, start=1)), numeric=(0, 2, 3, 4),
           widths=(2.0, 7.4, 2.4, 2.4, 2.4))

    document.add_heading(_("The process"), level=1)
    ranked = len(data.rows)
    word.facts(document, [
        (_("Applications received"), _number(data.received)),
        (_("Withdrawn after submission"), _number(data.withdrawn)),
        (_("Ranked (eligible or not yet confirmed)"), _number(ranked)),
        (_("Eligibility confirmed by staff"), _number(data.eligible)),
        (_("Eligibility not yet confirmed"), _number(data.pending)),
        (_("Not eligible"), _number(len(data.ineligible))),
        (_("Evaluators who submitted scores"), _number(data.evaluators)),
        (_("Evaluations submitted"), _number(data.evaluations)),
        (_("Conflicts of interest declared"), _number(data.conflicts)),
        (_("Criteria with divergent scores"), _number(data.divergent_criteria)),
        (_("Consensus scores recorded (moderation)"), _number(data.moderated)),
    ])
    if data.failed_rules:
        document.add_heading(_("Eligibility rules not met"), level=2)
        word.table(document, [_("Rule"), _("Applications")],
               ([str(eligibility.RULE_LABELS.get(code, code)), _number(n)] for code, n in data.failed_rules),
               numeric=(1,))

    document.add_heading(_("Ranking"), level=1)
    counts = Counter(r.outcome for r in data.rows)
    document.add_paragraph(_("%(selected)s selected, %(reserve)s on the reserve list, %(rejected)s not selected, "
                             "%(ineligible)s not eligible.", selected=counts[Outcome.SELECTED],
                             reserve=counts[Outcome.RESERVE], rejected=counts[Outcome.REJECTED],
                             ineligible=len(data.ineligible)))
    header = [_("Rank"), _("Organisation")] + [c.name for c in data.criteria] + [
        _("Total"), _("Weighted total"), _("Outcome")]
    n = len(data.criteria)
    word.table(document, header, (
        [_number(row.rank) if row.rank else "–", row.application.organisation_name]
        + [_number(c.final) for c in row.result.criteria]
        + [_number(row.result.total), _number(row.result.weighted_total), _outcome_words(row)]
        for row in data.rows), font_size=9, numeric=tuple(range(2, 4 + n)) + (0,),
        widths=(1.3, 3.6) + (max(1.3, 5.8 / max(n, 1)),) * n + (1.4, 1.7, 2.8))
    if data.ineligible:
        document.add_heading(_("Not admitted to the evaluation (not eligible)"), level=2)
        for application in data.ineligible:
            document.add_paragraph(word.clean(application.organisation.legal_name), style="List Bullet")

    document.add_heading(_("Statistics"), level=1)
    scored = sum(1 for r in data.rows if r.result.complete)
    document.add_paragraph(_("Over the %(num)s applications with every evaluation in: mean total %(total)s of "
                             "%(max)s, mean weighted total %(weighted)s.", num=scored,
                             total=_number(data.mean_total), max=_number(data.rules.max_total),
                             weighted=_number(data.mean_weighted)))
    document.add_heading(_("Distribution of the totals"), level=2)
    word.table(document, [_("Total from"), _("to"), _("Applications")],
           ([_number(low), _number(high), _number(count)] for low, high, count in data.distribution),
           numeric=(0, 1, 2))
    document.add_heading(_("Per criterion"), level=2)
    word.table(document, [_("Criterion"), _("Mean"), _("Lowest"), _("Highest"), _("Threshold met")],
           ([s.criterion.name, _number(s.mean), _number(s.lowest), _number(s.highest),
             _("%(passed)s of %(scored)s", passed=s.passed, scored=s.scored)] for s in data.per_criterion),
           numeric=(1, 2, 3))
    document.add_heading(_("Selected applicants by S3 domain"), level=2)
    if data.by_domain:
        word.table(document, [_("S3 domain"), _("Selected")],
               ([name or _("No domain given"), _number(count)] for name, count in data.by_domain), numeric=(1,))
    else:
        document.add_paragraph(_("No applicant is selected."))
    document.add_heading(_("Selected applicants by size class"), level=2)
    if data.by_size:
        word.table(document, [_("Size class"), _("Selected")],
               ([size_class_label(size), _number(count)] for size, count in data.by_size), numeric=(1,))
    else:
        document.add_paragraph(_("No applicant is selected."))
    return document

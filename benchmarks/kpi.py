"""KPI dashboard computation: every figure of a programme for 3 editions of 500 companies with 3 answered surveys each.

QUALITY.md / issue 7: the monitoring computation (database read and pandas) of the whole
Accelerator programme, as the staff dashboard asks it, under 0.5 s (median of 7 runs) for
3 editions of 500 companies each (1,500 cohort members, each followed with a baseline and
answered surveys at 12, 24 and 36 months: 4,500 surveys), plus a comparison group of 100
applicants per edition, investments and supply contracts. A single edition is timed too.
The rows are bulk-inserted into a fresh SQLite database.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import insert, select

from benchmarks.util import bench_app, count_queries, median
from opsapp.extensions import db

GOAL_S = 0.5
EDITIONS = (2021, 2022, 2023)
COMPANIES = 500  # per edition
COMPARISON = 100  # per edition
RUNS = 7
S3 = (("ict", "ICT", "ICT"), ("energy", "Energy", "Energia"), ("automotive", "Automotive", "Automotive"),
      ("agrifood", "Agri-food", "Agroalimentare"), ("textile", "Textile", "Tessile"),
      ("life_sciences", "Life sciences", "Scienze della vita"))
SIZES = ("micro", "small", "medium", "large", None)


def _populate() -> None:
    """3 Accelerator editions with a cohort of 500 companies each, followed for three years."""
    from opsapp.accounts.models import Organisation, S3Domain, organisation_s3_domains
    from opsapp.calls.models import Edition, Programme
    from opsapp.cohorts.models import Cohort, CohortMember, InvestorIntroduction
    from opsapp.events.models import Event, Participant, SupplyContract
    from opsapp.kpi.models import FollowUp, IndicatorTarget, Survey

    rng = random.Random(7)
    answered_at = datetime(2026, 6, 1, tzinfo=UTC)
    programme = Programme(kind="accelerator", name_en="Business Accelerator", name_it="Business Accelerator")
    mtb = Programme(kind="meet_the_buyer", name_en="Meet the Buyer", name_it="Meet the Buyer")
    db.session.add_all([programme, mtb])
    db.session.flush()
    domains = [S3Domain(code=c, name_en=en, name_it=it) for c, en, it in S3]
    db.session.add_all(domains)
    investor = Organisation(kind="investor", legal_name="Bench Ventures", vat_number="IT99999999999", country="IT")
    db.session.add(investor)
    db.session.flush()

    n = 0
    for year in EDITIONS:
        edition = Edition(programme_id=programme.id, year=year)
        db.session.add(edition)
        db.session.flush()
        cohort = Cohort(edition_id=edition.id, name=f"Accelerator {year}", starts_on=date(year, 3, 1),
                        ends_on=date(year, 9, 30), status="completed")
        db.session.add(cohort)
        db.session.flush()
        orgs = []
        for _ in range(COMPANIES + COMPARISON):
            n += 1
            orgs.append({"kind": "startup", "legal_name": f"Bench company {n}", "vat_number": f"IT{n:011d}",
                         "country": "IT", "size_class": SIZES[n % len(SIZES)],
                         "founding_date": date(year - 1 - n % 6, 1 + n % 12, 1)})
        db.session.execute(insert(Organisation), orgs)
        ids = list(db.session.scalars(select(Organisation.id).where(
            Organisation.vat_number.in_([o["vat_number"] for o in orgs])).order_by(Organisation.id)))
        db.session.execute(insert(organisation_s3_domains), [
            {"organisation_id": oid, "s3_domain_id": domains[(oid + k) % len(domains)].id}
            for oid in ids for k in range(1 + oid % 2)])
        members, comparison = ids[:COMPANIES], ids[COMPANIES:]
        db.session.execute(insert(CohortMember), [
            {"cohort_id": cohort.id, "organisation_id": oid, "completion": "completed" if oid % 4 else "withdrawn"}
            for oid in members])
        member_ids = list(db.session.scalars(select(CohortMember.id).where(CohortMember.cohort_id == cohort.id)))
        db.session.execute(insert(InvestorIntroduction), [
            {"member_id": mid, "investor_id": investor.id, "introduced_on": date(year, 6, 1), "outcome": "investment",
             "amount": Decimal(50000 + mid * 10), "investment_type": "equity"} for mid in member_ids[::10]])
        db.session.execute(insert(FollowUp), [
            {"organisation_id": oid, "edition_id": edition.id, "group": group, "source": source,
             "ended_on": date(year, 9, 30), "baseline_source": "application", "baseline_year": year - 1,
             "baseline_turnover": Decimal(rng.randint(100_000, 5_000_000)),
             "baseline_export_turnover": Decimal(rng.randint(0, 1_000_000)),
             "baseline_employees_fte": Decimal(rng.randint(2, 60)),
             "baseline_high_skill_fte": Decimal(rng.randint(0, 20)),
             "baseline_investment_raised": Decimal(rng.randint(0, 500_000))}
            for oids, group, source in ((members, "participant", "cohort"), (comparison, "comparison", "comparison"))
            for oid in oids])
        follow_ups = db.session.execute(select(FollowUp.id, FollowUp.ended_on).where(
            FollowUp.edition_id == edition.id)).all()
        db.session.execute(insert(Survey), [
            {"follow_up_id": fid, "wave": wave, "due_on": date(ended.year + wave // 12, ended.month, 30),
             "fiscal_year": ended.year + wave // 12 - 1, "status": "answered", "answered_at": answered_at,
             "sales": Decimal(rng.randint(100_000, 7_000_000)), "export_sales": Decimal(rng.randint(0, 2_000_000)),
             "employees_fte": Decimal(rng.randint(2, 80)), "high_skill_fte": Decimal(rng.randint(0, 30)),
             "funding_raised": Decimal(rng.choice((0, 0, 100_000, 250_000))),
             "funding_source": rng.choice(("none", "public", "private", "both")),
             "new_markets": rng.randint(0, 3), "corporate_partnerships": rng.randint(0, 2),
             "contracts_signed": rng.randint(0, 2), "contracts_value": Decimal(rng.randint(0, 90_000))}
            for fid, ended in follow_ups for wave in (12, 24, 36)])
        db.session.execute(insert(IndicatorTarget), [
            {"measure": "ACC-1.admitted", "edition_id": edition.id, "target": Decimal(480)},
            {"measure": "ACC-2.sales", "edition_id": edition.id, "target": Decimal(8)}])
        if year == EDITIONS[-1]:
            # Cohort members meeting buyers: their confirmed supply contracts count as partnerships.
            mtb_edition = Edition(programme_id=mtb.id, year=year)
            db.session.add(mtb_edition)
            db.session.flush()
            event = Event(edition_id=mtb_edition.id, name="Bench event", days=[f"{year}-10-10"],
                          day_start=datetime(2000, 1, 1, 9).time(), day_end=datetime(2000, 1, 1, 17).time())
            buyer = Organisation(kind="corporate_buyer", legal_name="Bench buyer", vat_number="DE123456789",
                                 country="DE")
            db.session.add_all([event, buyer])
            db.session.flush()
            db.session.execute(insert(Participant), [
                {"event_id": event.id, "organisation_id": oid, "side": "sme", "status": "registered"}
                for oid in members[:100]] + [{"event_id": event.id, "organisation_id": buyer.id, "side": "buyer",
                                              "status": "registered", "outside_region": True}])
            people = dict(db.session.execute(select(Participant.organisation_id, Participant.id)
                                              .where(Participant.event_id == event.id)).all())
            db.session.execute(insert(SupplyContract), [
                {"event_id": event.id, "sme_id": people[oid], "buyer_id": people[buyer.id],
                 "signed_on": date(year, 12, 1), "value": Decimal(20_000), "status": "confirmed"}
                for oid in members[:100:3]])
    db.session.commit()


def _timed(scope, today, engine) -> tuple[float, int]:
    from opsapp.kpi import monitoring

    monitoring.compute(scope, for_authority=False, today=today)  # warm
    with count_queries(engine) as counter:
        monitoring.compute(scope, for_authority=False, today=today)
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        monitoring.compute(scope, for_authority=False, today=today)
        times.append(time.perf_counter() - started)
    return median(times), counter["n"]


def run() -> bool:
    from opsapp.kpi.results import Scope

    app = bench_app()
    today = date(2026, 11, 1)
    ok = True
    with app.app_context():
        _populate()
        engine = db.engine
        print(f"{len(EDITIONS)} Accelerator editions x {COMPANIES} companies (+{COMPARISON} comparison) x 3 "
              f"answered surveys; goal: median under {GOAL_S} s (staff view, {RUNS} runs)")
        print(f"{'scope':24} {'median s':>9} {'queries':>7}")
        for label, scope in (("whole programme", Scope("accelerator")),
                             (f"edition {EDITIONS[-1]}", Scope("accelerator", EDITIONS[-1]))):
            seconds, queries = _timed(scope, today, engine)
            good = seconds < GOAL_S
            ok &= good
            print(f"{label:24} {seconds:9.3f} {queries:7d}{'' if good else '  GOAL MISSED'}")
    return ok


if __name__ == "__main__":
    run()

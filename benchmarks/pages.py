"""Server time and SQL queries of every main page, on the demo data and on the demo scaled tenfold.

For each role's demo account, every page of its navigation plus the home page and a few
detail pages is requested 15 times through the application (no network): the p95 of
server time must stay under 100 ms on SQLite (QUALITY.md), and the number of SQL queries
of a page must not grow when the data grows tenfold.
"""

from __future__ import annotations

import itertools
import time
from decimal import Decimal

from flask import url_for
from sqlalchemy import insert, select

from benchmarks.util import bench_app, count_queries, median, percentile
from opsapp.extensions import db

ROLES = ["admin", "staff", "authority", "evaluator1", "mentor1", "applicant1", "buyer1"]
REPEAT = 15
GOAL_P95_MS = 100.0


def _pages_for(app, email: str) -> list[str]:
    from opsapp.accounts.models import Membership, User
    from opsapp.core import navigation

    with app.test_request_context():
        user = db.session.scalar(select(User).where(User.email == email))
        user._session_token = "x"
        paths = ["/"] + [url_for(e.endpoint) for e in navigation.entries_for(user)]
        membership = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
        if membership is not None:
            paths.append(url_for("accounts.organisation_detail", organisation_id=membership.organisation_id))
        if user.has_role("admin"):
            paths.append(url_for("accounts.admin_user_detail", user_id=user.id))
        paths += ["/notifications", "/account"]
    return list(dict.fromkeys(paths))


def _sign_in(app, email: str):
    client = app.test_client()
    with app.test_request_context():
        pass
    page = client.get("/login")
    assert page.status_code == 200
    r = client.post("/login", data={"email": email, "password": "opsapp-demo-2027"})
    assert r.status_code == 302, f"cannot sign in as {email}"
    return client


def _measure(app, label: str) -> dict[tuple[str, str], tuple[float, float, int]]:
    results = {}
    for role in ROLES:
        email = f"{role}@demo.opsapp.eu"
        client = _sign_in(app, email)
        for path in _pages_for(app, email):
            client.get(path)  # warm caches and templates
            times = []
            queries = 0
            for _ in range(REPEAT):
                with app.app_context():
                    engine = db.engine
                with count_queries(engine) as counter:
                    t0 = time.perf_counter()
                    r = client.get(path)
                    times.append((time.perf_counter() - t0) * 1000)
                queries = counter["n"]
                if r.status_code >= 500:
                    raise RuntimeError(f"{path} answered {r.status_code} for {role}")
            results[(role, path)] = (median(times), percentile(times, 0.95), queries)
    return results


def _scale_tenfold(app) -> None:
    """Nine more copies of the organisations, people, memberships, notifications and audit entries."""
    from opsapp.accounts.models import Membership, Organisation, User, UserRole
    from opsapp.core.models import AuditEntry, Notification

    with app.app_context():
        orgs = db.session.scalars(select(Organisation)).all()
        users = db.session.scalars(select(User)).all()
        password_hash = users[0].password_hash
        serial = itertools.count(1)
        for copy in range(1, 10):
            new_users = []
            for u in users:
                new_users.append({"email": f"copy{copy}-{u.email}", "full_name": f"{u.full_name} {copy}",
                                  "password_hash": password_hash, "locale": u.locale, "timezone": u.timezone,
                                  "email_confirmed_at": u.email_confirmed_at, "created_at": u.created_at})
            db.session.execute(insert(User), new_users)
            new_orgs = []
            for o in orgs:
                new_orgs.append({"kind": o.kind, "legal_name": f"{o.legal_name} ({copy})",
                                 "vat_number": f"XX{copy}{next(serial):09d}", "country": o.country,
                                 "nuts2_region": o.nuts2_region, "staff_headcount": o.staff_headcount,
                                 "annual_turnover": o.annual_turnover or Decimal(0),
                                 "balance_sheet_total": o.balance_sheet_total or Decimal(0),
                                 "size_class": o.size_class, "created_at": o.created_at,
                                 "public_control": False})
            db.session.execute(insert(Organisation), new_orgs)
        db.session.flush()
        copies = db.session.scalars(select(User).where(User.email.like("copy%"))).all()
        db.session.execute(insert(UserRole), [{"user_id": u.id, "role": "applicant"} for u in copies])
        new_org_ids = db.session.scalars(select(Organisation.id).where(Organisation.vat_number.like("XX%"))).all()
        db.session.execute(insert(Membership), [
            {"user_id": u.id, "organisation_id": oid, "role": "owner"} for u, oid in zip(copies, new_org_ids, strict=True)])
        everyone = db.session.scalars(select(User.id)).all()
        db.session.execute(insert(Notification), [
            {"user_id": uid, "subject": f"Notice {i}", "body": "", "created_at": users[0].created_at}
            for uid in everyone for i in range(3)])
        db.session.execute(insert(AuditEntry), [
            {"action": "benchmark.entry", "actor_id": uid, "object_type": "users", "object_id": str(uid),
             "detail": {}, "created_at": users[0].created_at} for uid in everyone for _ in range(5)])
        db.session.commit()


def run() -> bool:
    from opsapp import demo

    app = bench_app()
    with app.app_context():
        demo.load(reset=True)
    base = _measure(app, "demo")
    _scale_tenfold(app)
    scaled = _measure(app, "demo x10")

    ok = True
    print(f"{'role':11} {'page':44} {'median ms':>9} {'p95 ms':>7} {'p95 x10':>8} {'queries':>7} {'x10':>4}")
    for key in sorted(base):
        role, path = key
        med, p95, q = base[key]
        _, p95_10, q10 = scaled[key]
        flag = ""
        if p95_10 > GOAL_P95_MS:
            flag += "  SLOW"
            ok = False
        if q10 > q:
            flag += "  QUERIES GROW"
            ok = False
        print(f"{role:11} {path[:44]:44} {med:9.1f} {p95:7.1f} {p95_10:8.1f} {q:7d} {q10:4d}{flag}")
    worst = max(v[1] for v in scaled.values())
    print(f"pages: {len(base)}; worst p95 at tenfold data {worst:.1f} ms (goal < {GOAL_P95_MS:.0f} ms)")
    return ok

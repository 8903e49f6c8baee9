"""Agendas and the table plan: one participant's agenda (page, .ics, printable) and an event's full table plan.

QUALITY.md: one participant's agenda under 50 ms (median of 30 requests of each form, on the
demo's past event, as applicant1); the table plan of an event with 2,000 meetings (56 SMEs
and 56 buyers over 36 slots at 56 tables, 2,016 meetings) under 2 s, printable page and
Word document (median of 5), with python-docx filling tables row by row.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from datetime import time as clock

from sqlalchemy import select

from benchmarks.util import bench_app, count_queries, median
from opsapp.extensions import db

AGENDA_GOAL_MS = 50.0
PLAN_GOAL_S = 2.0
SIDE = 56  # SMEs and buyers of the large event; each slot pairs SME j with buyer (j + slot) mod SIDE


def _client(app, email: str):
    client = app.test_client()
    r = client.post("/login", data={"email": email, "password": "opsapp-demo-2027"})
    assert r.status_code == 302, f"cannot sign in as {email}"
    return client


def _timed(client, url: str, repeat: int, engine) -> tuple[float, int, int]:
    """Median seconds, the status and the SQL queries of one request."""
    client.get(url)  # warm
    times = []
    with count_queries(engine) as counter:
        status = client.get(url).status_code
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - started)
    return median(times), status, counter["n"]


def _large_event() -> int:
    """An event of two days of 18 slots at 56 tables, filled with 2,016 meetings."""
    from opsapp.accounts.models import Organisation
    from opsapp.events import grid
    from opsapp.events.models import (
        Event,
        EventPhase,
        EventSlot,
        Meeting,
        MeetingRequest,
        Participant,
        ParticipantStatus,
        RequestStatus,
        Side,
    )

    days = [date(2027, 3, 9), date(2027, 3, 10)]
    event = Event(name="Table plan benchmark", timezone="Europe/Rome", days=[d.isoformat() for d in days],
                  day_start=clock(9), day_end=clock(15), slot_minutes=20, breaks=[], table_count=SIDE,
                  phase=EventPhase.AGENDAS_PUBLISHED.value, venue="Lingotto Fiere, Turin")
    db.session.add(event)
    db.session.flush()
    slots = [EventSlot(event_id=event.id, starts_at=s.starts_at, ends_at=s.ends_at)
             for s in grid.generate(days, event.day_start, event.day_end, 20, [], event.timezone)]
    db.session.add_all(slots)
    sides = {}
    for side in (Side.SME, Side.BUYER):
        people = []
        for j in range(SIDE):
            org = Organisation(kind="sme" if side is Side.SME else "corporate_buyer",
                               legal_name=f"Bench {side.value} {j} S.r.l.", vat_number=f"BENCH{side.value}{j:05d}",
                               country="IT", nuts2_region="ITC1")
            db.session.add(org)
            people.append(org)
        db.session.flush()
        sides[side] = [Participant(event_id=event.id, organisation_id=o.id, side=side.value,
                                   status=ParticipantStatus.REGISTERED.value, headline=o.legal_name)
                       for o in people]
        db.session.add_all(sides[side])
    db.session.flush()
    requests = {}
    for s in range(len(slots)):
        for j in range(SIDE):
            sme, buyer = sides[Side.SME][j], sides[Side.BUYER][(j + s) % SIDE]
            request = MeetingRequest(event_id=event.id, sme_id=sme.id, buyer_id=buyer.id, requested_by="sme",
                                     priority=1, status=RequestStatus.ACCEPTED.value)
            requests[(s, j)] = request
    db.session.add_all(requests.values())
    db.session.flush()
    db.session.add_all(Meeting(event_id=event.id, request_id=r.id, slot_id=slots[s].id, table_number=j + 1,
                               sme_id=r.sme_id, buyer_id=r.buyer_id) for (s, j), r in requests.items())
    event.agendas_published_at = slots[0].starts_at - timedelta(days=7)
    db.session.commit()
    return event.id


def run() -> bool:
    from opsapp import demo
    from opsapp.accounts.models import User
    from opsapp.events import permissions
    from opsapp.events.models import Meeting

    app = bench_app()
    with app.app_context():
        demo.load(reset=True)
        applicant = db.session.scalar(select(User).where(User.email == "applicant1@demo.opsapp.eu"))
        past = next(e for e in permissions.events_of(applicant) if e.agendas_published_at is not None)
        past_id = past.id
        meetings = len(db.session.scalars(select(Meeting).where(
            Meeting.event_id == past_id, Meeting.sme_id == permissions.participant_of(applicant, past).id)).all())
        large_id = _large_event()
        large_meetings = len(db.session.scalars(select(Meeting.id).where(Meeting.event_id == large_id)).all())
        engine = db.engine
    ok = True
    client = _client(app, "applicant1@demo.opsapp.eu")
    print(f"applicant1's agenda at the demo's past event ({meetings} meetings); goal: median under "
          f"{AGENDA_GOAL_MS:.0f} ms")
    print(f"{'form':12} {'median ms':>9} {'queries':>7} {'status':>6}")
    for label, suffix in (("page", "agenda"), ("calendar", "agenda.ics"), ("printable", "agenda/print")):
        with app.app_context():
            seconds, status, queries = _timed(client, f"/events/{past_id}/{suffix}", 30, engine)
        good = status == 200 and seconds * 1000 < AGENDA_GOAL_MS
        ok &= good
        print(f"{label:12} {seconds * 1000:9.1f} {queries:7d} {status:6d}{'' if good else '  GOAL MISSED'}")
    staff_client = _client(app, "staff@demo.opsapp.eu")
    print(f"\ntable plan of an event with {large_meetings} meetings; goal: median under {PLAN_GOAL_S:.0f} s")
    print(f"{'form':12} {'median s':>9} {'queries':>7} {'status':>6}")
    for label, suffix in (("printable", "table-plan"), ("Word", "table-plan.docx"), ("agendas", "agendas.docx")):
        with app.app_context():
            seconds, status, queries = _timed(staff_client, f"/events/{large_id}/{suffix}", 5, engine)
        goal = label != "agendas"  # every participant's agenda (112 pages) is reported, not a goal
        good = status == 200 and (not goal or seconds < PLAN_GOAL_S)
        ok &= good
        print(f"{label:12} {seconds:9.2f} {queries:7d} {status:6d}{'' if good else '  GOAL MISSED'}")
    return ok

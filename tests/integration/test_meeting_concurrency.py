"""Meetings under concurrent changes: fifty staff members put meetings into one slot at the
same moment, each in their own thread, application context and database session, through
the service (`schedule_grid.place`). A participant never ends up in two meetings of one slot,
and a table never holds two meetings: exactly one attempt wins, the others are refused
with a message (row locks on PostgreSQL, immediate transactions on SQLite, the partial
unique indexes as the last guard). Runs on the suite's database (SQLite or PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from opsapp.accounts.models import User
from opsapp.core.roles import Role
from opsapp.events import schedule_grid
from opsapp.events.models import EventPhase, EventSlot, Meeting, MeetingRequest, Side
from opsapp.events.pages import EventError
from opsapp.extensions import db
from tests.factories import make_user
from tests.factories_events import make_event, make_participant, make_request

ATTEMPTS = 50


def _race(app, staff_id: int, attempts: list[tuple[int, int, int]]):
    """Each (request, slot, table) placed by its own thread at once; returns (placed, refusals, errors)."""
    barrier = threading.Barrier(len(attempts))
    placed: list[int] = []
    refusals: list[str] = []
    errors: list[BaseException] = []

    def worker(request_id: int, slot_id: int, table: int):
        with app.app_context():
            try:
                barrier.wait(30)
                actor = db.session.get(User, staff_id)
                request = db.session.get(MeetingRequest, request_id)
                slot = db.session.get(EventSlot, slot_id)
                meeting = schedule_grid.place(actor, request, slot, table)
                db.session.commit()
                placed.append(meeting.id)
            except EventError as error:
                db.session.rollback()
                refusals.append(str(error.message))
            except BaseException as error:  # noqa: BLE001 - collected and asserted below
                db.session.rollback()
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=a) for a in attempts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    return placed, refusals, errors


@pytest.fixture
def staff(app):
    with app.app_context():
        user = make_user("staff@example.eu", roles=[Role.STAFF])
        db.session.commit()
        return user.id


def test_fifty_attempts_to_put_one_sme_twice_into_a_slot_leave_exactly_one(app, staff):
    with app.app_context():
        event = make_event(phase=EventPhase.SCHEDULING, tables=ATTEMPTS)
        sme = make_participant(event, Side.SME)
        requests = [make_request(sme, make_participant(event, Side.BUYER)).id for _ in range(ATTEMPTS)]
        slot_id = event.slots[2].id
        sme_id = sme.id
        db.session.commit()
    # Every attempt: the same SME, another buyer, the same slot, another table.
    placed, refusals, errors = _race(app, staff, [(r, slot_id, n + 1) for n, r in enumerate(requests)])
    assert errors == []
    assert len(placed) == 1 and len(refusals) == ATTEMPTS - 1
    assert all("already has a meeting at" in m or "taken a moment ago" in m for m in refusals), set(refusals)
    with app.app_context():
        meetings = list(db.session.scalars(select(Meeting).where(Meeting.sme_id == sme_id)))
        assert [m.id for m in meetings] == placed and meetings[0].slot_id == slot_id


def test_fifty_attempts_at_one_table_in_one_slot_leave_exactly_one(app, staff):
    with app.app_context():
        event = make_event(phase=EventPhase.SCHEDULING, tables=4)
        requests = [make_request(make_participant(event, Side.SME), make_participant(event, Side.BUYER)).id
                    for _ in range(ATTEMPTS)]
        slot_id = event.slots[0].id
        db.session.commit()
    # Every attempt: other participants, the same slot and table.
    placed, refusals, errors = _race(app, staff, [(r, slot_id, 3) for r in requests])
    assert errors == []
    assert len(placed) == 1 and len(refusals) == ATTEMPTS - 1
    assert all("Table 3 already holds a meeting" in m or "taken a moment ago" in m for m in refusals), set(refusals)
    with app.app_context():
        assert db.session.scalar(select(func.count(Meeting.id)).where(Meeting.slot_id == slot_id)) == 1
        [meeting] = db.session.scalars(select(Meeting))
        assert (meeting.id, meeting.table_number) == (placed[0], 3)

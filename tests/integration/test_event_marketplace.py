"""The marketplace through the browser's eyes: a participant browses the other side (staff both),
filters kept in the URL, suggested matches in order with their reasons, favourites, the state
of its requests, profiles only within the event and on the other side. Real database, CSRF on."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from opsapp.accounts.models import S3Domain
from opsapp.core.roles import Role
from opsapp.events.models import EventPhase, Favourite, Participant, RequestStatus, Side
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import login, make_organisation, make_s3_domains, make_user
from tests.factories_events import make_event, make_participant, make_request


def text(response) -> str:
    return response.get_data(as_text=True)


def client_of(app, email):
    client = app.test_client()
    login(client, email)
    return client


def names_in(html: str, section_id: str) -> list[str]:
    """The linked profile names inside a section of the page, in order."""
    start = html.index(f'id="{section_id}"')
    end = html.index("</section>", start)
    return re.findall(r'/profiles/\d+">(?:<strong>)?([^<]+)<', html[start:end])


def _participant(event, side, tag, domains=(), **fields) -> int:
    user = make_user(f"{tag.lower()}@example.eu", roles=[Role.APPLICANT if side is Side.SME else Role.BUYER],
                     full_name=f"{tag} Person")
    org = make_organisation(kind="sme" if side is Side.SME else "corporate_buyer", owner=user,
                            legal_name=f"{tag} S.p.A.")
    p = make_participant(event, side, user=user, organisation=org, headline=fields.pop("headline", f"{tag} headline"),
                         **fields)
    p.s3_domains = list(domains)
    db.session.flush()
    return p.id


@pytest.fixture
def world(app):
    with app.app_context():
        domains = {d.code: d for d in make_s3_domains()}
        make_user("staff@example.eu", roles=[Role.STAFF], full_name="Stella Staff")
        event = make_event(name="Meet the Buyer Torino")
        ids = {"event": event.id}
        ids["alfa"] = _participant(event, Side.SME, "Alfa", [domains["agrifood"]],
                                   offer="Smart sensors for food packaging lines", countries=["IT"],
                                   languages=["en", "it"])
        ids["beta"] = _participant(event, Side.SME, "Beta", [domains["ict"]], offer="Cloud software")
        ids["gamma"] = _participant(event, Side.BUYER, "Gamma", [domains["agrifood"]],
                                    needs="We look for sensors on our packaging plants", countries=["IT"],
                                    languages=["it"], headline="Dairy group buying packaging technology")
        ids["delta"] = _participant(event, Side.BUYER, "Delta", [domains["ict"]], needs="Cloud accounting",
                                    countries=["FR"], languages=["fr"], outside_region=True,
                                    headline="French retailer")
        ids["epsilon"] = _participant(event, Side.BUYER, "Epsilon", [domains["agrifood"]], needs="Bakery ovens",
                                      countries=["DE"], languages=["de"], headline="Bakery chain")
        ids["zeta"] = _participant(event, Side.BUYER, "Zeta", [], needs="Office furniture", countries=["ES"],
                                   languages=["es"], headline="Furniture importer")
        ids["invited"] = _participant(event, Side.BUYER, "Invited", [domains["agrifood"]], status="invited",
                                      needs="sensors packaging")
        ids["gone"] = _participant(event, Side.BUYER, "Gone", [domains["agrifood"]], status="withdrawn",
                                   needs="sensors packaging")
        other = make_event(name="Another event")
        ids["other_event"] = other.id
        ids["omega"] = _participant(other, Side.BUYER, "Omega", [domains["agrifood"]], needs="sensors packaging")
        ids["agrifood"] = domains["agrifood"].id
        db.session.commit()
        return ids


def market(world) -> str:
    return f"/events/{world['event']}/marketplace"


def test_a_participant_sees_the_other_side_with_suggestions_in_order(app, world):
    html = text(client_of(app, "alfa@example.eu").get(market(world)))
    assert "4 profiles" in html
    listed = names_in(html, "profiles-title")
    assert listed == ["Delta S.p.A.", "Epsilon S.p.A.", "Gamma S.p.A.", "Zeta S.p.A."]  # by name
    for hidden in ("Beta S.p.A.", "Invited S.p.A.", "Gone S.p.A.", "Omega S.p.A."):
        assert hidden not in html
    assert names_in(html, "suggested-title") == ["Gamma S.p.A.", "Epsilon S.p.A."]  # Delta and Zeta do not fit
    assert "Shared S3 domains: Agri-food; shared words: packaging, sensors" in html
    assert "Outside the region" in html and "France" in html and "French" in html
    assert "10 of 10 requests left" in html


def test_the_buyer_sees_the_smes(app, world):
    html = text(client_of(app, "gamma@example.eu").get(market(world)))
    assert names_in(html, "profiles-title") == ["Alfa S.p.A.", "Beta S.p.A."]
    assert names_in(html, "suggested-title") == ["Alfa S.p.A."]


def test_filters_are_kept_in_the_url(app, world):
    client = client_of(app, "alfa@example.eu")
    html = text(client.get(market(world) + f"?s3_domain={world['agrifood']}"))
    assert names_in(html, "profiles-title") == ["Epsilon S.p.A.", "Gamma S.p.A."] and "match the filters" in html
    assert f'<option selected value="{world["agrifood"]}">' in html or \
        f'<option value="{world["agrifood"]}" selected>' in html
    assert names_in(text(client.get(market(world) + "?country=FR")), "profiles-title") == ["Delta S.p.A."]
    assert names_in(text(client.get(market(world) + "?outside=y")), "profiles-title") == ["Delta S.p.A."]
    html = text(client.get(market(world) + "?q=BAKERY"))
    assert names_in(html, "profiles-title") == ["Epsilon S.p.A."] and 'value="BAKERY"' in html
    assert names_in(text(client.get(market(world) + "?q=100%25")), "profiles-title") == []
    # Nonsense values are ignored, never an error page.
    r = client.get(market(world) + "?country=xx1&s3_domain=abc&page=zz")
    assert r.status_code == 200 and "4 profiles" in text(r)


def test_the_favourite_toggle(app, world):
    client = client_of(app, "alfa@example.eu")
    page = text(client.get(market(world)))
    token = csrf_from(page)
    url = f"/events/{world['event']}/profiles/{world['delta']}/favourite"
    assert client.post(url, data={}).status_code == 400  # no CSRF token
    r = client.post(url, data={"csrf_token": token, "next": market(world) + "?outside=y"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/marketplace?outside=y")
    with app.app_context():
        assert db.session.get(Favourite, (world["alfa"], world["delta"])) is not None
    html = text(client.get(market(world) + "?favourites=y"))
    assert names_in(html, "profiles-title") == ["Delta S.p.A."] and "Remove from favourites" in html
    client.post(url, data={"csrf_token": token, "next": "https://evil.example/"})
    with app.app_context():
        assert db.session.get(Favourite, (world["alfa"], world["delta"])) is None
    # Not a profile of the other side of this event: 404, nothing saved.
    for target in ("beta", "omega", "gone"):
        bad = f"/events/{world['event']}/profiles/{world[target]}/favourite"
        assert client.post(bad, data={"csrf_token": token}).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Favourite)) == 0


def test_the_state_of_my_request_shows_on_each_card(app, world):
    with app.app_context():
        alfa = db.session.get(Participant, world["alfa"])
        make_request(alfa, db.session.get(Participant, world["gamma"]), status=RequestStatus.PENDING)
        make_request(alfa, db.session.get(Participant, world["epsilon"]), status=RequestStatus.DECLINED)
        db.session.commit()
    html = text(client_of(app, "alfa@example.eu").get(market(world)))
    assert "Your request: Waiting for an answer" in html and "Your request: Declined" in html
    assert "No request yet" in html
    links = re.findall(r"requests/new\?to=(\d+)", html)
    assert str(world["gamma"]) not in links and str(world["epsilon"]) in links


def test_profiles_open_only_within_the_event_and_the_other_side(app, world):
    client = client_of(app, "alfa@example.eu")
    base = f"/events/{world['event']}/profiles/"
    r = client.get(base + str(world["gamma"]))
    assert r.status_code == 200 and "We look for sensors on our packaging plants" in text(r)
    assert "Request a meeting" in text(r)
    assert client.get(base + str(world["alfa"])).status_code == 200  # my own, as others see it
    assert client.get(base + str(world["beta"])).status_code == 404  # same side
    assert client.get(base + str(world["gone"])).status_code == 404  # withdrawn
    assert client.get(base + str(world["omega"])).status_code == 404  # another event's participant
    assert client.get(f"/events/{world['other_event']}/profiles/{world['omega']}").status_code == 404
    assert client.get(f"/events/{world['other_event']}/marketplace").status_code == 404
    assert client.get(base + "999999").status_code == 404
    staff = client_of(app, "staff@example.eu")
    assert staff.get(base + str(world["beta"])).status_code == 200


def test_staff_see_both_sides_with_a_side_filter(app, world):
    staff = client_of(app, "staff@example.eu")
    html = text(staff.get(market(world)))
    assert "7 profiles" in html and "Invited S.p.A." in html and "Gone S.p.A." not in html
    assert "Suggested for you" not in html
    assert names_in(text(staff.get(market(world) + "?side=sme")), "profiles-title") == ["Alfa S.p.A.", "Beta S.p.A."]


def test_the_marketplace_waits_for_booking(app, world):
    with app.app_context():
        from opsapp.events.models import Event

        db.session.get(Event, world["event"]).phase = EventPhase.PREPARATION.value
        db.session.commit()
    client = client_of(app, "alfa@example.eu")
    r = client.get(market(world))
    assert r.status_code == 200 and "opens when the event enters the booking phase" in text(r)
    assert "Gamma S.p.A." not in text(r)
    assert client.get(f"/events/{world['event']}/profiles/{world['gamma']}").status_code == 404


def test_the_list_is_paginated_with_a_count(app, world):
    with app.app_context():
        from opsapp.events.models import Event

        event = db.session.get(Event, world["event"])
        for n in range(20):
            _participant(event, Side.BUYER, f"Extra{n:02d}", needs="Things")
        db.session.commit()
    client = client_of(app, "alfa@example.eu")
    html = text(client.get(market(world) + "?q=&page=2"))
    assert "24 profiles" in html and "Page 2 of 2" in html
    assert len(names_in(html, "profiles-title")) == 4


def test_the_page_queries_do_not_grow_with_the_profiles(app, world):
    client = client_of(app, "alfa@example.eu")

    def queries() -> int:
        seen = []

        def count(*_args):
            seen.append(1)

        with app.app_context():
            engine = db.engine
        sa_event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(market(world)).status_code == 200
        finally:
            sa_event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    few = queries()
    with app.app_context():
        from opsapp.events.models import Event

        event = db.session.get(Event, world["event"])
        agrifood = db.session.get(S3Domain, world["agrifood"])
        for n in range(12):
            _participant(event, Side.BUYER, f"More{n:02d}", [agrifood], needs="sensors")
        db.session.commit()
    assert queries() == few

"""Organisations through the browser's eyes: registering and editing the profile, size data
and related enterprises, members, documents, the staff list and export, the S3 domains,
and who may see or change what. Real database, real files, CSRF on."""

from __future__ import annotations

import csv
import io
import itertools
import re
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from opsapp.accounts.models import Membership, Organisation, OwnershipLink, S3Domain
from opsapp.core import files
from opsapp.core.models import AuditEntry, StoredFile
from opsapp.core.roles import Role
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import italian_vat, login, make_organisation, make_s3_domains, make_user

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


# --- helpers ---------------------------------------------------------------------------


_OFFICE = itertools.count(1)


def valid_vat() -> str:
    """An Italian VAT number stdnum accepts: the factory's check digit, and tax office 001
    (the factory's own numbers name offices that do not exist once its counter passes 100)."""
    return italian_vat(9_000_000 + next(_OFFICE) * 1000 + 1)


def post(client, path, data, page=None, **kwargs):
    """POST like a browser: take the CSRF token from the page the form is on."""
    token = csrf_from(client.get(page or path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def upload(client, org_id, content=PDF, name="certificate.pdf", description="Chamber of commerce"):
    return post(client, f"/organisations/{org_id}/documents",
                {"file": (io.BytesIO(content), name), "description": description},
                content_type="multipart/form-data")


def errors(response) -> list[str]:
    return re.findall(r'class="field-error"[^>]*>([^<]*)<', response.get_data(as_text=True))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def audit_actions(org_id=None) -> list[str]:
    query = select(AuditEntry.action).order_by(AuditEntry.id)
    if org_id is not None:
        query = query.where(AuditEntry.object_type == "organisations", AuditEntry.object_id == str(org_id))
    return list(db.session.scalars(query))


def profile(**changes) -> dict:
    data = {
        "kind": "startup", "legal_name": "Rossi Robotica S.r.l.", "country": "IT",
        "vat_number": "00743110157", "nuts2_region": "itc1", "address": "Via Roma 1", "city": "Torino",
        "postcode": "10121", "founding_date": "2021-05-04", "nace_code": "28.99",
        "description": "Collaborative robots for small workshops.", "website": "https://rossi.example.eu",
    }
    data.update(changes)
    return data


@pytest.fixture
def people(app):
    """Two applicants each owning an organisation, a member of the first, staff, a buyer without one."""
    with app.app_context():
        domains = make_s3_domains()
        a = make_user("a@example.eu")
        b = make_user("b@example.eu")
        colleague = make_user("colleague@example.eu")
        staff = make_user("staff@example.eu", roles=[Role.STAFF])
        make_user("admin@example.eu", roles=[Role.ADMIN])
        make_user("buyer@example.eu", roles=[Role.BUYER])
        make_user("newcomer@example.eu")
        org_a = make_organisation(owner=a, members=[colleague], legal_name="Alfa Meccanica S.r.l.",
                                  vat_number=valid_vat())
        org_b = make_organisation(owner=b, legal_name="Beta Tessile S.p.A.", nuts2_region="ITC4",
                                  vat_number=valid_vat())
        db.session.commit()
        return {"org_a": org_a.id, "org_b": org_b.id, "staff": staff.id, "domains": [d.id for d in domains]}


# --- registering and editing the profile -----------------------------------------------


def test_an_applicant_without_organisation_is_sent_to_register_one(app, client, people):
    login(client, "newcomer@example.eu")
    assert "Register your organisation" in client.get("/").get_data(as_text=True)
    r = client.get("/organisations/mine")
    assert r.status_code == 302 and r.location.endswith("/organisations/new")


def test_registering_makes_the_applicant_its_owner(app, client, people):
    login(client, "newcomer@example.eu")
    r = post(client, "/organisations/new", profile(s3_domain_ids=[str(people["domains"][0])]))
    assert r.status_code == 302
    with app.app_context():
        org = db.session.scalar(select(Organisation).where(Organisation.legal_name == "Rossi Robotica S.r.l."))
        assert org.vat_number == "IT00743110157"  # normalised: prefix added
        assert org.nuts2_region == "ITC1"
        assert [d.code for d in org.s3_domains] == ["aerospace"]
        assert [(m.user.email, m.role) for m in org.memberships] == [("newcomer@example.eu", "owner")]
        assert audit_actions(org.id) == ["organisation.created"]
        org_id = org.id
    assert r.location.endswith(f"/organisations/{org_id}")
    page = client.get(r.location).get_data(as_text=True)
    assert "Rossi Robotica S.r.l." in page and "Not classified" in page
    assert client.get("/organisations/mine").location.endswith(f"/organisations/{org_id}")


def test_bad_input_on_the_profile_form_keeps_what_was_typed_and_saves_nothing(app, client, people):
    login(client, "newcomer@example.eu")
    r = post(client, "/organisations/new", profile(
        legal_name="", vat_number="IT 0074311015X", nuts2_region="XX99", founding_date="2999-01-01",
        nace_code="robots", website="not a url", kind="spaceship"))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "There are" in html and "problems to fix" in html  # the summary at the top
    assert len(errors(r)) >= 5
    assert 'value="IT 0074311015X"' in html and 'value="XX99"' in html and 'value="robots"' in html
    with app.app_context():
        assert count(Organisation) == 2
        assert "organisation.created" not in audit_actions()


def test_a_future_founding_date_is_refused_by_the_service_and_nothing_is_saved(app, client, people):
    login(client, "newcomer@example.eu")
    r = post(client, "/organisations/new", profile(founding_date="2999-01-01"))
    assert r.status_code == 200
    assert "The founding date cannot be in the future." in errors(r)
    assert 'value="Rossi Robotica S.r.l."' in r.get_data(as_text=True)
    with app.app_context():
        assert count(Organisation) == 2 and count(Membership) == 3


def test_a_vat_number_already_registered_is_a_clear_error(app, client, people):
    with app.app_context():
        taken = db.session.get(Organisation, people["org_a"]).vat_number
    login(client, "newcomer@example.eu")
    r = post(client, "/organisations/new", profile(vat_number=taken[2:]))  # typed without the prefix
    assert r.status_code == 200
    assert any("already registered" in e for e in errors(r))
    with app.app_context():
        assert count(Organisation) == 2


def test_the_unique_constraint_stops_a_duplicate_that_slipped_past_the_check(app, ctx, people):
    from opsapp.accounts import organisations

    taken = db.session.get(Organisation, people["org_a"]).vat_number
    db.session.add(Organisation(kind="sme", legal_name="Racing twin", vat_number=taken, country="IT"))
    with pytest.raises(organisations.OrganisationError) as refused:
        organisations._flush_keeping_vat_unique()
    assert refused.value.field == "vat_number"
    db.session.rollback()
    assert count(Organisation) == 2


def test_the_owner_edits_the_profile_and_the_change_is_audited(app, client, people):
    org_id = people["org_a"]
    login(client, "a@example.eu")
    form = client.get(f"/organisations/{org_id}/edit").get_data(as_text=True)
    assert 'value="Alfa Meccanica S.r.l."' in form
    r = post(client, f"/organisations/{org_id}/edit",
             profile(legal_name="Alfa Meccanica Nuova S.r.l.", vat_number=valid_vat(),
                     s3_domain_ids=[str(i) for i in people["domains"][:2]]))
    assert r.status_code == 302
    with app.app_context():
        org = db.session.get(Organisation, org_id)
        assert org.legal_name == "Alfa Meccanica Nuova S.r.l." and len(org.s3_domains) == 2
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "organisation.updated"))
        assert entry.detail["changes"]["legal_name"] == ["Alfa Meccanica S.r.l.", "Alfa Meccanica Nuova S.r.l."]
    detail = client.get(f"/organisations/{org_id}").get_data(as_text=True)
    assert "Profile updated" in detail  # the timeline


def test_bad_input_on_the_edit_form_changes_nothing(app, client, people):
    org_id = people["org_a"]
    with app.app_context():
        other_vat = db.session.get(Organisation, people["org_b"]).vat_number
    login(client, "a@example.eu")
    r = post(client, f"/organisations/{org_id}/edit", profile(legal_name="Renamed", vat_number=other_vat))
    assert r.status_code == 200
    assert any("already registered" in e for e in errors(r))
    assert 'value="Renamed"' in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Organisation, org_id).legal_name == "Alfa Meccanica S.r.l."
        assert "organisation.updated" not in audit_actions()


# --- size data and related enterprises -------------------------------------------------


def test_size_data_give_the_size_class_shown_with_its_reasons(app, client, people):
    org_id = people["org_a"]
    login(client, "a@example.eu")
    r = post(client, f"/organisations/{org_id}/size",
             {"staff_headcount": "12,5", "annual_turnover": "1500000", "balance_sheet_total": "900000.50"})
    assert r.status_code == 302
    with app.app_context():
        org = db.session.get(Organisation, org_id)
        assert org.size_class == "small"
        assert org.staff_headcount == Decimal("12.50") and org.balance_sheet_total == Decimal("900000.50")
        assert "organisation.size_saved" in audit_actions(org_id)
    page = client.get(f"/organisations/{org_id}").get_data(as_text=True)
    assert "Small enterprise" in page
    assert "Not a micro enterprise: 12.5 AWU is not fewer than 10." in page


def test_public_control_makes_it_large(app, client, people):
    org_id = people["org_a"]
    login(client, "a@example.eu")
    post(client, f"/organisations/{org_id}/size", {"staff_headcount": "3", "annual_turnover": "100",
                                                   "balance_sheet_total": "100", "public_control": "y"})
    with app.app_context():
        assert db.session.get(Organisation, org_id).size_class == "large"
    assert "Art. 3(4)" in client.get(f"/organisations/{org_id}").get_data(as_text=True)


def test_bad_size_data_keep_what_was_typed_and_save_nothing(app, client, people):
    org_id = people["org_a"]
    login(client, "a@example.eu")
    r = post(client, f"/organisations/{org_id}/size",
             {"staff_headcount": "-4", "annual_turnover": "1.500.000", "balance_sheet_total": "12.345"})
    assert r.status_code == 200
    assert len(errors(r)) == 3
    html = r.get_data(as_text=True)
    assert 'value="-4"' in html and 'value="1.500.000"' in html and 'value="12.345"' in html
    with app.app_context():
        org = db.session.get(Organisation, org_id)
        assert org.staff_headcount == Decimal("12") and org.size_class is None
        assert "organisation.size_saved" not in audit_actions()


def test_a_partner_counts_pro_rata_and_removing_it_restores_the_class(app, client, people):
    org_id = people["org_a"]
    login(client, "a@example.eu")
    post(client, f"/organisations/{org_id}/size", {"staff_headcount": "8", "annual_turnover": "1000000",
                                                   "balance_sheet_total": "1000000"})
    r = post(client, f"/organisations/{org_id}/links",
             {"enterprise_name": "Holding Nord S.p.A.", "direction": "holds", "share_percent": "25",
              "staff_headcount": "8", "annual_turnover": "0", "balance_sheet_total": "0"},
             page=f"/organisations/{org_id}/size")
    assert r.status_code == 302
    with app.app_context():
        org = db.session.get(Organisation, org_id)
        assert org.size_class == "small"  # 8 + 25% of 8 = 10: not fewer than 10
        link_id = org.ownership_links[0].id
    page = client.get(f"/organisations/{org_id}/size").get_data(as_text=True)
    assert "Holding Nord S.p.A. (25%) is a partner enterprise" in page
    post(client, f"/organisations/{org_id}/links/{link_id}/delete", {}, page=f"/organisations/{org_id}/size")
    with app.app_context():
        assert db.session.get(Organisation, org_id).size_class == "micro"
        assert audit_actions(org_id)[-3:] == ["organisation.size_saved", "organisation.link_added",
                                              "organisation.link_removed"]


def test_bad_input_on_the_related_enterprise_form_saves_nothing(app, client, people):
    org_id = people["org_a"]
    login(client, "a@example.eu")
    r = post(client, f"/organisations/{org_id}/links",
             {"enterprise_name": "Typed Name", "direction": "sideways", "share_percent": "0",
              "staff_headcount": "", "annual_turnover": "lots", "balance_sheet_total": "1"},
             page=f"/organisations/{org_id}/size")
    assert r.status_code == 200
    assert len(errors(r)) == 4
    html = r.get_data(as_text=True)
    assert 'value="Typed Name"' in html and 'value="lots"' in html
    with app.app_context():
        assert count(OwnershipLink) == 0


# --- who may see and change what ----------------------------------------------------------


@pytest.mark.parametrize("path", ["", "/edit", "/size", "/members", "/documents"])
def test_another_applicant_cannot_see_someone_elses_organisation(app, client, people, path):
    login(client, "b@example.eu")
    assert client.get(f"/organisations/{people['org_a']}{path}").status_code == 403


def test_another_applicant_cannot_change_it(app, client, people):
    org_id = people["org_a"]
    login(client, "b@example.eu")
    token = csrf_from(client.get("/organisations/new").get_data(as_text=True))
    attempts = [
        (f"/organisations/{org_id}/edit", profile(legal_name="Hijacked")),
        (f"/organisations/{org_id}/size", {"staff_headcount": "999", "annual_turnover": "1",
                                           "balance_sheet_total": "1"}),
        (f"/organisations/{org_id}/members", {"email": "b@example.eu", "role": "owner"}),
        (f"/organisations/{org_id}/documents", {"file": (io.BytesIO(PDF), "x.pdf")}),
    ]
    for path, data in attempts:
        r = client.post(path, data={"csrf_token": token, **data}, content_type="multipart/form-data")
        assert r.status_code == 403, path
    with app.app_context():
        org = db.session.get(Organisation, org_id)
        assert org.legal_name == "Alfa Meccanica S.r.l." and org.staff_headcount == Decimal("12")
        assert count(StoredFile) == 0 and count(Membership) == 3


def test_a_document_is_downloaded_as_an_attachment_only_by_those_allowed(app, client, people):
    org_id = people["org_a"]
    login(client, "colleague@example.eu")  # a plain member may upload
    assert upload(client, org_id).status_code == 302
    with app.app_context():
        stored = db.session.scalar(select(StoredFile))
        path = files.path_of(stored).resolve()
        file_id, stored_name = stored.id, stored.stored_name
        assert stored.purpose == "organisation_document" and stored.organisation_id == org_id
        assert Path(app.static_folder).resolve() not in path.parents
        assert path.read_bytes() == PDF and path.name != "certificate.pdf"
        assert "organisation.document_uploaded" in audit_actions(org_id)
    url = f"/organisations/{org_id}/documents/{file_id}"

    r = client.get(url)
    assert r.status_code == 200 and r.data == PDF
    assert r.headers["Content-Disposition"].startswith("attachment")
    assert "certificate.pdf" in r.headers["Content-Disposition"]
    assert client.get(f"/static/{stored_name}").status_code == 404

    other = app.test_client()
    login(other, "b@example.eu")
    refused = other.get(url)
    assert refused.status_code == 403 and PDF not in refused.data
    assert other.get(f"/organisations/{people['org_b']}/documents/{file_id}").status_code == 404

    staff = app.test_client()
    login(staff, "staff@example.eu")
    assert staff.get(url).data == PDF

    anonymous = app.test_client()
    assert anonymous.get(url).status_code == 302  # to the sign-in page, never the file


def test_one_byte_over_the_limit_is_refused_and_nothing_is_saved(app, client, people):
    limit = app.config["MAX_UPLOAD_BYTES"]
    login(client, "a@example.eu")
    r = upload(client, people["org_a"], content=PDF + b"0" * (limit + 1 - len(PDF)))
    assert r.status_code == 200
    assert any("larger than" in e for e in errors(r))
    _nothing_stored(app)


def test_exactly_at_the_limit_is_accepted(app, client, people):
    limit = app.config["MAX_UPLOAD_BYTES"]
    login(client, "a@example.eu")
    assert upload(client, people["org_a"], content=PDF + b"0" * (limit - len(PDF))).status_code == 302


def test_a_program_renamed_pdf_is_refused(app, client, people):
    login(client, "a@example.eu")
    r = upload(client, people["org_a"], content=b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200, name="invoice.pdf")
    assert r.status_code == 200
    assert any("does not match" in e for e in errors(r))
    _nothing_stored(app)


@pytest.mark.parametrize("name", ["../../etc/passwd.pdf", "..\\..\\boot.pdf", "../cert.pdf"])
def test_a_name_reaching_into_folders_is_refused(app, client, people, name):
    login(client, "a@example.eu")
    r = upload(client, people["org_a"], name=name)
    assert r.status_code == 200
    assert any("must not name folders" in e for e in errors(r))
    _nothing_stored(app)


def test_a_file_of_a_kind_not_accepted_is_refused(app, client, people):
    login(client, "a@example.eu")
    r = upload(client, people["org_a"], content=b"#!/bin/sh\necho hi\n", name="run.sh")
    assert any("not accepted" in e for e in errors(r))
    _nothing_stored(app)


def _nothing_stored(app):
    with app.app_context():
        assert count(StoredFile) == 0
        assert "organisation.document_uploaded" not in audit_actions()
    folder = Path(app.config["UPLOAD_FOLDER"])
    assert not folder.exists() or not any(folder.iterdir())


def test_who_may_delete_a_document(app, client, people):
    org_id = people["org_a"]
    login(client, "a@example.eu")  # the owner uploads
    upload(client, org_id)
    with app.app_context():
        file_id = db.session.scalar(select(StoredFile.id))
        stored_path = files.path_of(db.session.get(StoredFile, file_id))
    member = app.test_client()
    login(member, "colleague@example.eu")
    r = post(member, f"/organisations/{org_id}/documents/{file_id}/delete", {}, page=f"/organisations/{org_id}/documents")
    assert r.status_code == 403  # a member deletes only their own uploads
    r = post(client, f"/organisations/{org_id}/documents/{file_id}/delete", {}, page=f"/organisations/{org_id}/documents")
    assert r.status_code == 302
    with app.app_context():
        assert count(StoredFile) == 0
        assert "organisation.document_deleted" in audit_actions(org_id)
    assert not stored_path.exists()


def test_a_plain_member_sees_the_organisation_but_cannot_manage_it(app, client, people):
    org_id = people["org_a"]
    login(client, "colleague@example.eu")
    page = client.get(f"/organisations/{org_id}").get_data(as_text=True)
    assert "Alfa Meccanica S.r.l." in page and "Edit the profile" not in page
    for path in ("/edit", "/size", "/members"):
        assert client.get(f"/organisations/{org_id}{path}").status_code == 403
    assert client.get(f"/organisations/{org_id}/documents").status_code == 200


def test_staff_see_and_edit_any_organisation(app, client, people):
    org_id = people["org_b"]
    login(client, "staff@example.eu")
    assert "Beta Tessile S.p.A." in client.get(f"/organisations/{org_id}").get_data(as_text=True)
    r = post(client, f"/organisations/{org_id}/edit", profile(legal_name="Beta Tessile Group S.p.A.",
                                                             vat_number=valid_vat()))
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(Organisation, org_id).legal_name == "Beta Tessile Group S.p.A."
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "organisation.updated"))
        assert entry.actor_id == people["staff"]


def test_staff_registering_an_organisation_do_not_become_its_members(app, client, people):
    login(client, "staff@example.eu")
    assert post(client, "/organisations/new", profile(kind="public_buyer")).status_code == 302
    with app.app_context():
        org = db.session.scalar(select(Organisation).where(Organisation.kind == "public_buyer"))
        assert org.memberships == []


# --- members ---------------------------------------------------------------------------


def test_the_owner_adds_changes_and_removes_members(app, client, people, outbox):
    org_id = people["org_a"]
    login(client, "a@example.eu")
    r = post(client, f"/organisations/{org_id}/members", {"email": "Newcomer@Example.eu", "role": "member",
                                                          "position": "CTO"})
    assert r.status_code == 302
    assert any("newcomer@example.eu" in m["To"] for m in outbox())
    with app.app_context():
        membership = db.session.scalar(select(Membership).join(Membership.user).where(
            Membership.organisation_id == org_id, Membership.position == "CTO"))
        membership_id = membership.id
    r = post(client, f"/organisations/{org_id}/members/{membership_id}/role", {f"member-{membership_id}-role": "owner"},
             page=f"/organisations/{org_id}/members")
    assert r.status_code == 302
    r = post(client, f"/organisations/{org_id}/members/{membership_id}/delete", {},
             page=f"/organisations/{org_id}/members")
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(Membership, membership_id) is None
        assert audit_actions(org_id)[-3:] == ["organisation.member_added", "organisation.member_role_changed",
                                              "organisation.member_removed"]


@pytest.mark.parametrize(("email", "message"), [
    ("nobody@example.eu", "No account uses this e-mail"),
    ("colleague@example.eu", "already a member"),
    ("not-an-email", "Invalid email address."),
])
def test_adding_a_member_that_cannot_be_added_keeps_the_form(app, client, people, email, message):
    login(client, "a@example.eu")
    r = post(client, f"/organisations/{people['org_a']}/members", {"email": email, "role": "member"})
    assert r.status_code == 200
    assert any(message in e for e in errors(r))
    assert f'value="{email}"' in r.get_data(as_text=True)
    with app.app_context():
        assert count(Membership) == 3


def test_the_last_owner_cannot_leave_or_step_down(app, client, people):
    org_id = people["org_a"]
    with app.app_context():
        owner_id = db.session.scalar(select(Membership.id).where(
            Membership.organisation_id == org_id, Membership.role == "owner"))
    login(client, "a@example.eu")
    page = f"/organisations/{org_id}/members"
    r = post(client, f"{page}/{owner_id}/role", {f"member-{owner_id}-role": "member"}, page=page, follow_redirects=True)
    assert "keeps at least one owner" in r.get_data(as_text=True)
    r = post(client, f"{page}/{owner_id}/delete", {}, page=page, follow_redirects=True)
    assert "keeps at least one owner" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Membership, owner_id).role == "owner"


def test_a_member_may_leave_but_not_remove_others(app, client, people):
    org_id = people["org_a"]
    with app.app_context():
        rows = dict(db.session.execute(select(Membership.role, Membership.id).where(Membership.organisation_id == org_id)).all())
    login(client, "colleague@example.eu")
    token = csrf_from(client.get(f"/organisations/{org_id}").get_data(as_text=True))
    r = client.post(f"/organisations/{org_id}/members/{rows['owner']}/delete", data={"csrf_token": token})
    assert r.status_code == 403
    r = client.post(f"/organisations/{org_id}/members/{rows['member']}/delete", data={"csrf_token": token})
    assert r.status_code == 302
    with app.app_context():
        assert count(Membership) == 2
    assert client.get(f"/organisations/{org_id}").status_code == 403


# --- staff list and export -------------------------------------------------------------


def test_the_list_is_for_staff_only(app, client, people):
    login(client, "a@example.eu")
    assert client.get("/organisations").status_code == 403
    assert client.get("/organisations/export.csv").status_code == 403
    assert client.get("/s3-domains").status_code == 403


def test_the_list_filters_counts_and_keeps_the_filters_in_the_links(app, client, people):
    with app.app_context():
        for n in range(30):
            make_organisation(legal_name=f"Gamma {n:02d} S.r.l.", size_class="micro")
        db.session.commit()
    login(client, "staff@example.eu")
    page = client.get("/organisations?q=gamma&size_class=micro&region=in").get_data(as_text=True)
    assert "30 organisations" in page
    next_link = re.search(r'href="([^"]*page=2[^"]*)"', page).group(1)
    assert all(f in next_link for f in ("q=gamma", "size_class=micro", "region=in"))
    second = client.get("/organisations?q=gamma&size_class=micro&region=in&page=2").get_data(as_text=True)
    assert "Gamma 29 S.r.l." in second and "Gamma 00 S.r.l." not in second
    out_of_region = client.get("/organisations?region=out").get_data(as_text=True)
    assert "1 organisation" in out_of_region and "Beta Tessile S.p.A." in out_of_region
    nothing = client.get("/organisations?q=zzz").get_data(as_text=True)
    assert "No organisation matches these filters" in nothing
    assert client.get("/organisations?kind=not-a-kind&page=abc").status_code == 200


def test_the_list_filters_by_s3_domain_and_kind(app, client, people):
    with app.app_context():
        domain = db.session.get(S3Domain, people["domains"][3])
        make_organisation(kind="university", legal_name="Politecnico di Prova", s3_domains=[domain])
        db.session.commit()
    login(client, "staff@example.eu")
    page = client.get(f"/organisations?s3_domain={people['domains'][3]}").get_data(as_text=True)
    assert "1 organisation" in page and "Politecnico di Prova" in page
    page = client.get("/organisations?kind=university").get_data(as_text=True)
    assert "Politecnico di Prova" in page and "Alfa Meccanica" not in page


def test_the_csv_export_follows_the_filters_and_is_audited(app, client, people):
    with app.app_context():
        make_organisation(legal_name="=HYPERLINK(\"http://evil\")", nuts2_region="ITC1")
        db.session.commit()
    login(client, "staff@example.eu")
    r = client.get("/organisations/export.csv?region=in")
    assert r.status_code == 200
    assert r.headers["Content-Disposition"].startswith("attachment")
    assert r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.data.decode("utf-8-sig"))))
    names = sorted(row["legal_name"] for row in rows)
    assert names == ["'=HYPERLINK(\"http://evil\")", "Alfa Meccanica S.r.l."]  # no formula, Beta is out of region
    assert all(row["in_region"] == "yes" for row in rows)
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "organisations.exported"))
        assert entry.detail["rows"] == 2 and entry.detail["filters"]["region"] == "in"


def test_the_xlsx_export_opens_with_numbers_as_numbers(app, client, people):
    from openpyxl import load_workbook

    login(client, "staff@example.eu")
    r = client.get("/organisations/export.xlsx")
    assert r.status_code == 200 and r.headers["Content-Disposition"].endswith('organisations.xlsx"')
    sheet = load_workbook(io.BytesIO(r.data)).active
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["id", "legal_name", "kind"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert {row[1] for row in rows} >= {"Alfa Meccanica S.r.l."}
    turnover = rows[0][header.index("annual_turnover")]
    assert isinstance(turnover, (int, float))


# --- S3 domains --------------------------------------------------------------------------


def test_staff_add_rename_and_deactivate_s3_domains(app, client, people):
    login(client, "staff@example.eu")
    r = post(client, "/s3-domains", {"name_en": "Creative industries", "name_it": "Industrie creative"})
    assert r.status_code == 302
    with app.app_context():
        domain = db.session.scalar(select(S3Domain).where(S3Domain.code == "creative_industries"))
        domain_id = domain.id
    r = post(client, f"/s3-domains/{domain_id}", {f"domain-{domain_id}-name_en": "Cultural and creative industries",
                                                  f"domain-{domain_id}-name_it": "Industrie culturali e creative"},
             page="/s3-domains")
    assert r.status_code == 302
    r = post(client, f"/s3-domains/{domain_id}/active", {"active": "0"}, page="/s3-domains")
    assert r.status_code == 302
    with app.app_context():
        domain = db.session.get(S3Domain, domain_id)
        assert (domain.name_en, domain.active) == ("Cultural and creative industries", False)
        assert [a for a in audit_actions() if a.startswith("s3_domain.")] == [
            "s3_domain.added", "s3_domain.renamed", "s3_domain.deactivated"]
    applicant = app.test_client()
    login(applicant, "newcomer@example.eu")
    assert "Cultural and creative industries" not in applicant.get("/organisations/new").get_data(as_text=True)


def test_bad_input_on_the_s3_forms_keeps_what_was_typed(app, client, people):
    login(client, "staff@example.eu")
    r = post(client, "/s3-domains", {"name_en": "Aerospace", "name_it": "Aerospazio bis"})
    assert r.status_code == 200 and "This domain is already in the list." in errors(r)
    assert 'value="Aerospazio bis"' in r.get_data(as_text=True)
    domain_id = people["domains"][0]
    r = post(client, f"/s3-domains/{domain_id}", {f"domain-{domain_id}-name_en": "Space",
                                                  f"domain-{domain_id}-name_it": ""}, page="/s3-domains")
    assert r.status_code == 200 and "Enter the Italian name." in errors(r)
    assert 'value="Space"' in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(S3Domain, domain_id).name_en == "Aerospace"
        assert count(S3Domain) == 9


def test_the_nine_domains_can_be_loaded_into_an_empty_list(app, client):
    with app.app_context():
        make_user("staff@example.eu", roles=[Role.STAFF])
        db.session.commit()
    login(client, "staff@example.eu")
    assert "Load the nine domains" in client.get("/s3-domains").get_data(as_text=True)
    post(client, "/s3-domains/defaults", {}, page="/s3-domains")
    post(client, "/s3-domains/defaults", {}, page="/s3-domains")  # a second time adds nothing
    with app.app_context():
        assert sorted(db.session.scalars(select(S3Domain.code))) == sorted(
            ["aerospace", "automotive", "green_chemistry", "mechatronics", "agrifood", "textile",
             "life_sciences", "ict", "energy"])


# --- navigation and home -----------------------------------------------------------------


def test_navigation_and_home_panels(app, client, people):
    login(client, "a@example.eu")
    home = client.get("/").get_data(as_text=True)
    assert "My organisation" in home and "Alfa Meccanica S.r.l." in home and "complete" in home
    buyer = app.test_client()
    login(buyer, "buyer@example.eu")
    assert buyer.get("/organisations/mine").location.endswith("/organisations/new")
    staff = app.test_client()
    login(staff, "staff@example.eu")
    home = staff.get("/").get_data(as_text=True)
    assert "Organisations registered recently" in home and "Beta Tessile S.p.A." in home
    assert 'href="/organisations"' in home and 'href="/s3-domains"' in home

"""The call's Word documents open in LibreOffice: each is converted to PDF and page 1 rendered.

The decision letter and the evaluation summary report of a decided call (built with the
factories, decided by the decision service) are downloaded through their endpoints,
converted by `soffice --headless --convert-to pdf` with a private profile (parallel runs
do not share one), and checked as a reader would see them: a PDF of at least one page,
the organisation and the table headers in its text, the footer's page numbers filled in
by the word processor, and a first page that is not blank. Without LibreOffice the tests
are skipped with a one-line reason, unless OPSAPP_REQUIRE_LIBREOFFICE=1 (set by .ci/run),
where a missing LibreOffice is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import time
import uuid
import zlib
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from opsapp.calls import decisions
from opsapp.calls.models import CallStatus, Consensus
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db
from tests.factories import login, make_organisation, make_s3_domains, make_user
from tests.factories_calls import (
    make_application,
    make_assignment,
    make_call,
    make_evaluator_profile,
)

CONVERSION_TIMEOUT = 120  # seconds, per document

# Per organisation, each evaluator's scores for Excellence, Impact (weight 1.5), Implementation.
SCORES = {
    "Alfa Robotica S.r.l.": [[5, 5, 4.5]] * 3,
    "Bravo Tessile S.p.A.": [[4.5, 4, 4]] * 3,
    "Charlie Sensori S.r.l.": [[2, 4, 4], [4.5, 4, 4], [4, 4.5, 4]],  # Excellence diverges: moderated to 4
    "Delta Meccanica S.r.l.": [[3, 2, 3]] * 3,  # Impact below its threshold
}


def _required() -> bool:
    return os.environ.get("OPSAPP_REQUIRE_LIBREOFFICE", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="module")
def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        reason = "the PDF conversion needs LibreOffice (apt-get install libreoffice-writer-nogui); none found"
        if _required():
            pytest.fail(f"OPSAPP_REQUIRE_LIBREOFFICE=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    for tool in ("pdfinfo", "pdftoppm", "pdftotext"):
        if shutil.which(tool) is None:
            reason = f"reading the PDF needs poppler's {tool} (apt-get install poppler-utils); none found"
            if _required():
                pytest.fail(f"OPSAPP_REQUIRE_LIBREOFFICE=1 but {reason}", pytrace=False)
            pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def lo_profile():
    """A LibreOffice profile of this run only: two runs sharing one would lock each other out."""
    folder = Path(f"/tmp/lo-profile-{uuid.uuid4().hex}")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _decided_call(app) -> dict:
    """A decided Accelerator call: four applications scored by three evaluators, one divergence moderated."""
    with app.app_context():
        make_s3_domains()
        staff = make_user("staff@example.eu", roles=[Role.STAFF], full_name="Stefania Staff")
        evaluators = [make_user(f"expert{n}@example.eu", roles=[Role.EVALUATOR], full_name=f"Expert Number{n}")
                      for n in (1, 2, 3)]
        for evaluator in evaluators:
            make_evaluator_profile(evaluator)
        call = make_call(CallStatus.IN_EVALUATION, places=2, opens_in=timedelta(days=-40),
                         closes_in=timedelta(days=-5), evaluators_per_application=3,
                         title="Business Accelerator 2027")
        started = utcnow() - timedelta(days=6)
        ids = {}
        for n, (name, per_evaluator) in enumerate(SCORES.items()):
            owner = make_user(f"owner{n}@example.eu", roles=[Role.APPLICANT], full_name=f"{name.split()[0]} Owner")
            organisation = make_organisation(owner=owner, legal_name=name)
            application = make_application(call, organisation, by=owner, submitted_at=started + timedelta(minutes=n),
                                           eligibility="eligible")
            for k, (evaluator, values) in enumerate(zip(evaluators, per_evaluator, strict=True), start=1):
                assignment = make_assignment(application, evaluator, scores=values)
                for score in assignment.scores:
                    score.comment = (f"Evaluator {k} on {score.criterion.name}: the team is strong, the market "
                                     f"study covers Italy and Germany, the financial plan is credible.")
            ids[name] = application.id
        charlie = ids["Charlie Sensori S.r.l."]
        db.session.add(Consensus(application_id=charlie, criterion_id=call.criteria[0].id, value=Decimal("4"),
                                 justification="The panel agreed that the market study is complete.",
                                 decided_by_id=staff.id))
        db.session.flush()
        with app.test_request_context():
            decisions.decide(staff, call.id, decisions.ranking_page(staff, call.id).digest)
        db.session.commit()
        return {"call": call.id, "applications": ids}


def _convert(soffice: str, profile: Path, document: Path) -> tuple[Path, float]:
    started = time.monotonic()
    result = subprocess.run(
        [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(document.parent), str(document)],
        capture_output=True, text=True, timeout=CONVERSION_TIMEOUT, stdin=subprocess.DEVNULL)
    took = time.monotonic() - started
    pdf = document.with_suffix(".pdf")
    assert result.returncode == 0 and pdf.exists(), (
        f"LibreOffice did not convert {document.name} (exit {result.returncode}): {result.stdout} {result.stderr}")
    return pdf, took


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, timeout=60).stdout
    found = re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)
    if found:
        return int(found.group(1))
    counts = re.findall(rb"/Count\s+(\d+)", pdf.read_bytes())
    return max(map(int, counts), default=0)


def _png_pixels(path: Path) -> tuple[int, int, list[int]]:
    """Width, height and the grey level of every pixel of an 8-bit PNG (standard library only)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, idat = 8, b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    assert depth == 8 and colour in (0, 2, 6), f"unexpected PNG format: depth {depth}, colour type {colour}"
    channels = {0: 1, 2: 3, 6: 4}[colour]
    raw = zlib.decompress(idat)
    stride = width * channels
    previous = bytearray(stride)
    grey = []
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):  # undo the PNG filter of the row
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        previous = line
        for x in range(width):
            pixel = line[x * channels:x * channels + min(channels, 3)]
            grey.append(sum(pixel) // len(pixel))
    return width, height, grey


def _render_first_page(pdf: Path) -> Path:
    stem = pdf.with_name(pdf.stem + "-page")
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(stem)],
                   check=True, capture_output=True, timeout=60)
    return stem.with_suffix(".png")


def _check_pdf(pdf: Path, must_read: list[str]) -> dict:
    pages = _pages(pdf)
    assert pages >= 1, f"{pdf.name} has no page"
    # Reading order, spaces and line breaks as one space: a name wrapped in a table cell still reads.
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                   timeout=60).stdout.split())
    for words in must_read:
        assert words in text, f"{words!r} is not in the PDF of {pdf.name}"
    # The footer's PAGE and NUMPAGES fields, computed by the word processor.
    assert re.search(rf"Page 1 of {pages}\b", text), f"no 'Page 1 of {pages}' footer in {pdf.name}"
    png = _render_first_page(pdf)
    assert png.stat().st_size > 3_000, f"page 1 of {pdf.name} renders to an almost empty image"
    width, height, grey = _png_pixels(png)
    dark = sum(1 for g in grey if g < 128) / len(grey)
    # A page of text: some ink (not blank), mostly paper (not a black page).
    assert 0.002 < dark < 0.5, f"page 1 of {pdf.name} has {dark:.2%} dark pixels"
    return {"pages": pages, "size": f"{width}x{height}", "dark": f"{dark:.1%}"}


def _download(client, url: str, folder: Path) -> Path:
    response = client.get(url)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    assert response.mimetype.endswith("wordprocessingml.document")
    name = re.search(r'filename="([^"]+)"', response.headers["Content-Disposition"]).group(1)
    path = folder / name
    path.write_bytes(response.data)
    return path


def test_the_decision_letter_converts_to_a_readable_pdf(app, client, tmp_path, soffice, lo_profile,
                                                         record_property):
    ids = _decided_call(app)
    login(client, "staff@example.eu")
    letter = _download(client, f"/applications/{ids['applications']['Charlie Sensori S.r.l.']}/letter.docx", tmp_path)
    pdf, took = _convert(soffice, lo_profile, letter)
    facts = _check_pdf(pdf, ["Charlie Sensori S.r.l.", "Criterion", "Weight", "Final score",
                             "The panel agreed that the market study is complete."])
    record_property("conversion_seconds", round(took, 1))
    print(f"\ndecision letter: {letter.stat().st_size} bytes of Word, converted in {took:.1f} s, {facts}")


def test_the_evaluation_summary_report_converts_to_a_readable_pdf(app, client, tmp_path, soffice, lo_profile,
                                                                   record_property):
    ids = _decided_call(app)
    login(client, "staff@example.eu")
    report = _download(client, f"/staff/calls/{ids['call']}/summary.docx", tmp_path)
    pdf, took = _convert(soffice, lo_profile, report)
    facts = _check_pdf(pdf, ["Business Accelerator 2027", "Alfa Robotica S.r.l.", "Delta Meccanica S.r.l."])
    record_property("conversion_seconds", round(took, 1))
    print(f"\nsummary report: {report.stat().st_size} bytes of Word, converted in {took:.1f} s, {facts}")

"""Uploads: checked for size, kind and content, stored under a generated name in the upload
folder, and downloadable only by those a rule allows (plus staff and admin)."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from flask_login import AnonymousUserMixin
from werkzeug.datastructures import FileStorage

from opsapp.core import files
from opsapp.core.files import FileRejected
from opsapp.core.models import StoredFile
from opsapp.core.roles import Role
from opsapp.extensions import db
from tests.factories import make_user

PDF_HEAD = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
PDF_TAIL = b"\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def pdf(size: int | None = None) -> bytes:
    """A PDF, padded with a comment to exactly `size` bytes when asked."""
    content = PDF_HEAD + PDF_TAIL
    if size is not None:
        padding = size - len(content) - 2
        content = PDF_HEAD + b"%" + b"x" * padding + b"\n" + PDF_TAIL
        assert len(content) == size
    return content


def png() -> bytes:
    """A real one-pixel PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def docx() -> bytes:
    """A minimal valid Word document: the parts Word needs to open it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0" encoding="UTF-8"?>'
                   '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                   'officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("_rels/.rels",
                   '<?xml version="1.0" encoding="UTF-8"?>'
                   '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                   'relationships/officeDocument" Target="word/document.xml"/></Relationships>')
        z.writestr("word/document.xml",
                   '<?xml version="1.0" encoding="UTF-8"?>'
                   '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                   '<w:body><w:p><w:r><w:t>Business plan</w:t></w:r></w:p></w:body></w:document>')
    return buffer.getvalue()


ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"\x80\x00\x00\x00" \
    + b"\x00" * 64 + b"PE\x00\x00\x4c\x01" + b"\x00" * 200


@pytest.fixture
def rctx(app):
    """A request context: the refusal messages are translated, and choosing the language
    reads the request (outside one, the app cannot pick a language yet)."""
    with app.test_request_context():
        yield
        db.session.remove()


def upload(content: bytes, name: str) -> FileStorage:
    return FileStorage(io.BytesIO(content), filename=name)


def store(content: bytes, name: str, **kwargs) -> StoredFile:
    kwargs.setdefault("purpose", "test")
    return files.store(upload(content, name), **kwargs)


def folder_files(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_FOLDER"])
    return sorted(folder.iterdir()) if folder.exists() else []


# --- size ------------------------------------------------------------------------------------


def test_exactly_the_limit_is_accepted_one_byte_more_is_not(app, rctx):
    row = store(pdf(4096), "plan.pdf", max_bytes=4096)
    assert row.size == 4096
    with pytest.raises(FileRejected, match="larger than"):
        store(pdf(4097), "plan.pdf", max_bytes=4096)
    assert len(folder_files(app)) == 1


def test_the_configured_limit_applies_by_default(app, rctx):
    limit = app.config["MAX_UPLOAD_BYTES"]
    assert store(pdf(limit), "big.pdf").size == limit
    with pytest.raises(FileRejected, match="larger than"):
        store(pdf(limit + 1), "too-big.pdf")


def test_an_empty_file_is_refused(app, rctx):
    with pytest.raises(FileRejected, match="empty"):
        store(b"", "empty.pdf")
    with pytest.raises(FileRejected):
        files.store(None, purpose="test")
    assert folder_files(app) == []


# --- kind ------------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [ELF, PE], ids=["elf", "pe"])
def test_a_program_renamed_pdf_is_refused(app, rctx, content):
    with pytest.raises(FileRejected, match="does not match"):
        store(content, "invoice.pdf")
    assert folder_files(app) == []
    assert db.session.query(StoredFile).count() == 0


@pytest.mark.parametrize("name", ["setup.exe", "invoice.pdf.exe", "script.sh", "noextension"])
def test_a_kind_not_accepted_is_refused(app, rctx, name):
    with pytest.raises(FileRejected, match="not accepted"):
        store(pdf(), name)
    assert folder_files(app) == []


def test_a_kind_accepted_elsewhere_but_not_here_is_refused(app, rctx):
    with pytest.raises(FileRejected, match="not accepted"):
        files.store(upload(docx(), "receipt.docx"), purpose="receipt", allowed=files.RECEIPTS)


@pytest.mark.parametrize("content, name, mime", [
    (pdf(), "plan.pdf", "application/pdf"),
    (png(), "logo.PNG", "image/png"),
    (docx(), "business plan.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
], ids=["pdf", "png", "docx"])
def test_real_documents_are_accepted(app, rctx, content, name, mime):
    row = store(content, name)
    assert row.content_type == mime
    assert row.original_name == name
    assert files.path_of(row).read_bytes() == content


def test_a_png_renamed_docx_is_refused(app, rctx):
    with pytest.raises(FileRejected, match="does not match"):
        store(png(), "plan.docx")


# --- names and storage ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../../etc/passwd.pdf", "..\\..\\boot.pdf", "dir/report.pdf", "..pdf"])
def test_a_name_with_folders_is_refused(app, rctx, name):
    with pytest.raises(FileRejected, match="must not name folders"):
        store(pdf(), name)
    assert folder_files(app) == []


def test_the_file_is_stored_under_a_generated_name_outside_the_web_root(app, rctx):
    row = store(pdf(), "passwd.pdf")
    assert row.original_name == "passwd.pdf"
    assert re.fullmatch(r"[0-9a-f]{32}", row.stored_name)
    folder = Path(app.config["UPLOAD_FOLDER"]).resolve()
    path = files.path_of(row).resolve()
    assert path.parent == folder
    assert folder_files(app) == [path]
    assert not (folder.parent / "etc").exists()
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("name, cleaned", [
    ("..\\..\\windows\\win.ini.pdf", "win.ini.pdf"),
    ('re"port<1>.pdf', "report1.pdf"),
    ("line\nbreak.pdf", "linebreak.pdf"),
    ("...pdf", "pdf"),
])
def test_names_are_made_safe_to_show(name, cleaned):
    assert files.clean_name(name) == cleaned


def test_two_uploads_with_one_name_never_overwrite(app, rctx):
    first = store(pdf(), "plan.pdf")
    second = store(pdf(2048), "plan.pdf")
    assert first.stored_name != second.stored_name
    assert files.path_of(first).read_bytes() == pdf()
    assert len(folder_files(app)) == 2


def test_the_sha256_is_recorded(app, rctx):
    content = docx()
    row = store(content, "plan.docx")
    db.session.commit()
    assert db.session.get(StoredFile, row.id).sha256 == hashlib.sha256(content).hexdigest()


def test_a_download_is_an_attachment(app):
    with app.test_request_context():
        row = store(pdf(), "plan.pdf")
        response = files.send(row)
        response.direct_passthrough = False
        assert response.headers["Content-Disposition"] == "attachment; filename=plan.pdf"
        assert response.mimetype == "application/pdf"
        assert response.get_data() == pdf()
        response.close()


def test_delete_removes_the_row_and_the_file(app, rctx):
    row = store(pdf(), "plan.pdf")
    path = files.path_of(row)
    files.delete(row)
    db.session.flush()
    assert not path.exists() and db.session.query(StoredFile).count() == 0


# --- who may download -------------------------------------------------------------------------------


@pytest.fixture
def owner_rule():
    files.register_access_rule("test-own-cv", lambda user, stored: stored.uploaded_by_id == user.id)
    yield
    files._ACCESS_RULES.pop("test-own-cv", None)  # the registry is global: leave it as found


def test_who_may_download(app, rctx, owner_rule):
    owner = make_user("owner@example.eu")
    stranger = make_user("stranger@example.eu")
    staff = make_user("staff@example.eu", roles=[Role.STAFF])
    admin = make_user("admin@example.eu", roles=[Role.ADMIN])
    evaluator = make_user("eval@example.eu", roles=[Role.EVALUATOR, Role.MENTOR])
    ruled = store(pdf(), "cv.pdf", purpose="test-own-cv", uploaded_by=owner)
    unruled = store(pdf(), "notes.pdf", purpose="test-no-rule", uploaded_by=owner)

    assert not files.can_download(AnonymousUserMixin(), ruled)
    assert files.can_download(owner, ruled)
    assert not files.can_download(stranger, ruled)
    assert not files.can_download(evaluator, ruled)
    # No rule for the purpose: nobody but staff and admin, not even the uploader.
    assert not files.can_download(owner, unruled)
    for privileged in (staff, admin):
        assert files.can_download(privileged, ruled)
        assert files.can_download(privileged, unruled)

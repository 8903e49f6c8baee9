"""Uploaded files: checked, stored outside the web root under a generated name, served only
to those allowed.

A file is accepted when its size is within the limit, its extension is one of the
allowed kinds, and its content really is of that kind (the first bytes are read; a
program renamed `report.pdf` is refused). The original name is kept for display only.
Who may download a file is decided by the access rule registered for its purpose
(`register_access_rule`), plus staff and admin; deny by default.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import filetype
from flask import current_app, send_file
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage

from opsapp.core.models import StoredFile
from opsapp.core.roles import Role
from opsapp.extensions import db


@dataclass(frozen=True)
class Kind:
    extensions: tuple[str, ...]
    mime: str
    check: Callable[[bytes], bool]


def _zip_with(member_hint: bytes) -> Callable[[bytes], bool]:
    # Office files are ZIP archives naming their main part early in the archive.
    return lambda head: head.startswith(b"PK\x03\x04") and member_hint in head


def _sniffed(mime: str) -> Callable[[bytes], bool]:
    return lambda head: (filetype.guess_mime(head) or "") == mime


def _plain_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sample is still text.
        return error.start >= len(head) - 3
    return True


KINDS: dict[str, Kind] = {
    "pdf": Kind(("pdf",), "application/pdf", _sniffed("application/pdf")),
    "png": Kind(("png",), "image/png", _sniffed("image/png")),
    "jpeg": Kind(("jpg", "jpeg"), "image/jpeg", _sniffed("image/jpeg")),
    "docx": Kind(("docx",), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", _zip_with(b"word/")),
    "xlsx": Kind(("xlsx",), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _zip_with(b"xl/")),
    "odt": Kind(("odt",), "application/vnd.oasis.opendocument.text", _zip_with(b"opendocument.text")),
    "ods": Kind(("ods",), "application/vnd.oasis.opendocument.spreadsheet", _zip_with(b"opendocument.spreadsheet")),
    "csv": Kind(("csv",), "text/csv", _plain_text),
    "txt": Kind(("txt",), "text/plain", _plain_text),
}
DOCUMENTS = ("pdf", "docx", "odt", "xlsx", "ods", "png", "jpeg")
RECEIPTS = ("pdf", "png", "jpeg")
HEAD_BYTES = 8192


class FileRejected(ValueError):
    """The upload was refused; the message says why, for the user."""


def clean_name(name: str) -> str:
    """The original name made safe to show and to put in a header: no folders, no control characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").split("/")[-1]
    name = "".join(c for c in name if c.isprintable() and c not in '"<>|:*?')
    name = name.strip(" .")
    return name[:200] or "file"


def check(upload: FileStorage | None, allowed=DOCUMENTS, max_bytes: int | None = None) -> tuple[Kind, bytes, str]:
    """Validate an upload; returns its kind, its content and its cleaned name, or raises FileRejected."""
    if upload is None or not upload.filename:
        raise FileRejected(_l("Choose a file to upload."))
    # Browsers send a bare file name; one naming folders was made by hand to reach elsewhere.
    if "/" in upload.filename or "\\" in upload.filename or upload.filename.startswith(".."):
        raise FileRejected(_l("The file name must not name folders (/, \\ or ..). Rename the file and upload it again."))
    name = clean_name(upload.filename)
    limit = max_bytes or current_app.config["MAX_UPLOAD_BYTES"]
    content = upload.stream.read(limit + 1)
    if len(content) > limit:
        raise FileRejected(_l("The file is larger than %(mb).1f MB.", mb=limit / 1024 / 1024))
    if not content:
        raise FileRejected(_l("The file is empty."))
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    kind = next((KINDS[k] for k in allowed if ext in KINDS[k].extensions), None)
    if kind is None:
        names = ", ".join(sorted({e.upper() for k in allowed for e in KINDS[k].extensions}))
        raise FileRejected(_l("This type of file is not accepted. Accepted: %(types)s.", types=names))
    if not kind.check(content[:HEAD_BYTES]):
        raise FileRejected(_l("The file's content does not match its name (.%(ext)s). Save it again in that format.", ext=ext))
    return kind, content, name


def store(upload: FileStorage | None, *, purpose: str, uploaded_by=None, organisation_id: int | None = None,
          allowed=DOCUMENTS, max_bytes: int | None = None, description: str | None = None) -> StoredFile:
    kind, content, name = check(upload, allowed, max_bytes)
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    stored_name = secrets.token_hex(16)
    path = folder / stored_name
    with open(path, "xb") as fh:  # "x": never overwrite
        fh.write(content)
    os.chmod(path, 0o600)
    row = StoredFile(
        purpose=purpose,
        uploaded_by_id=getattr(uploaded_by, "id", uploaded_by),
        organisation_id=organisation_id,
        original_name=name,
        stored_name=stored_name,
        content_type=kind.mime,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        description=description,
    )
    db.session.add(row)
    db.session.flush()
    return row


def path_of(stored: StoredFile) -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"]) / stored.stored_name


def send(stored: StoredFile, download_name: str | None = None):
    """The file as a download (never shown inline), with its original name unless another is given."""
    response = send_file(path_of(stored), mimetype=stored.content_type, as_attachment=True,
                         download_name=download_name or stored.original_name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def delete(stored: StoredFile) -> None:
    try:
        path_of(stored).unlink()
    except FileNotFoundError:
        pass
    db.session.delete(stored)


# --- who may download --------------------------------------------------------------

_ACCESS_RULES: dict[str, Callable] = {}


def register_access_rule(purpose: str, rule: Callable) -> None:
    """`rule(user, stored_file) -> bool` decides for files of this purpose (besides staff and admin)."""
    _ACCESS_RULES[purpose] = rule


def can_download(user, stored: StoredFile) -> bool:
    if not user.is_authenticated:
        return False
    if user.has_role(Role.STAFF, Role.ADMIN):
        return True
    rule = _ACCESS_RULES.get(stored.purpose)
    return bool(rule and rule(user, stored))

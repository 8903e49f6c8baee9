"""Outgoing e-mail. Messages are queued on the database session and leave only after
its commit (a rolled-back request sends nothing). With `MAIL_SERVER` set they go through
SMTP; otherwise each is written as an .eml file to the outbox folder."""

from __future__ import annotations

import smtplib
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from opsapp.extensions import db

_QUEUE_KEY = "opsapp_outbox"


def queue(to: str, subject: str, text: str, html: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="opsapp.eu")
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    session = db.session()
    session.info.setdefault(_QUEUE_KEY, []).append((current_app._get_current_object(), msg))
    return msg


def deliver(app, msg: EmailMessage) -> None:
    cfg = app.config
    if cfg.get("MAIL_SERVER"):
        smtp_class = smtplib.SMTP_SSL if cfg.get("MAIL_USE_SSL") else smtplib.SMTP
        with smtp_class(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=20) as smtp:
            if cfg.get("MAIL_USE_TLS") and not cfg.get("MAIL_USE_SSL"):
                smtp.starttls()
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
            smtp.send_message(msg)
        return
    outbox = Path(cfg["MAIL_OUTBOX"])
    outbox.mkdir(parents=True, exist_ok=True)
    (outbox / f"{uuid.uuid4().hex}.eml").write_bytes(bytes(msg))


def outbox_messages(app) -> list[EmailMessage]:
    """The messages written to the outbox folder, oldest first (development and tests)."""
    from email import policy
    from email.parser import BytesParser

    folder = Path(app.config["MAIL_OUTBOX"])
    if not folder.exists():
        return []
    files = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    parser = BytesParser(policy=policy.default)
    return [parser.parsebytes(p.read_bytes()) for p in files]


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    pending = session.info.pop(_QUEUE_KEY, [])
    for app, msg in pending:
        try:
            deliver(app, msg)
        except (OSError, smtplib.SMTPException):
            app.logger.exception("could not send e-mail to %s", msg["To"])


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop(_QUEUE_KEY, None)

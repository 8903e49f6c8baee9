"""Telling people what concerns them: an in-app notice and an e-mail, in their language.

`notify(user, subject, template, link=..., **context)` renders
`templates/email/<template>.txt` in the recipient's language; user-provided text in
the context is escaped by Jinja in the HTML alternative.
"""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import func, select, update

from opsapp.core import mail
from opsapp.core.models import Notification
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db


def absolute_url(path: str) -> str:
    if path.startswith("http://") or path.startswith("https://"):
        return path
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


def notify(user, subject, template: str, *, link: str | None = None, in_app: bool = True,
           email: bool = True, **context) -> Notification | None:
    """Queue an e-mail and, unless `in_app` is False, add an in-app notice.

    `subject` may be a lazy string or a callable; it is rendered in the user's language.
    """
    if user is None or getattr(user, "erased_at", None):
        return None
    with force_locale(user.locale or "en"):
        subject_text = str(subject() if callable(subject) else subject)
        ctx = {"user": user, "link": absolute_url(link) if link else None, **context}
        text = render_template(f"email/{template}.txt", **ctx)
        html = render_template("email/base.html", body=text, subject=subject_text, **ctx)
    notice = None
    if in_app:
        notice = Notification(user_id=user.id, subject=subject_text[:200], body=text, link=link)
        db.session.add(notice)
    if email:
        mail.queue(user.email, subject_text, text, html)
    db.session.flush()
    return notice


def unread_count(user_id: int) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user_id, Notification.read_at.is_(None)
        )
    ) or 0


def mark_read(user_id: int, notification_id: int | None = None) -> None:
    stmt = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    db.session.execute(stmt.values(read_at=utcnow()))

"""Personal data under the GDPR: what opsapp holds about a person, their download, and erasure.

The export walks every table of the schema and takes the rows that point to the person
through a foreign key to `users.id`, so tables added later by other domains are covered
without touching this module; secrets (password and token hashes, the TOTP secret) are
left out. Erasure deletes what only concerns the person (sign-ins, tokens, recovery
codes, notifications, memberships, roles), anonymises the account row and keeps the
audit log, which then points to the anonymised row. Each domain decides about its own
rows through `register_erasure_handler`: what the law says to keep (grant and decision
records) stays until its retention period ends and is anonymised then, when
`anonymise_expired()` (a scheduled job) calls the handlers again.
"""

from __future__ import annotations

import base64
import enum
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from flask import has_request_context, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from sqlalchemy import Table, delete, func, literal, or_, select, union_all

from opsapp.accounts import sessions
from opsapp.accounts.models import (
    AccountToken,
    Membership,
    Organisation,
    RecoveryCode,
    User,
    UserRole,
    UserSession,
)
from opsapp.accounts.passwords import verify_password
from opsapp.core import audit
from opsapp.core.models import AuditEntry, Notification
from opsapp.core.notifications import notify
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db

EXPORT_FORMAT = "opsapp-personal-data"
EXPORT_VERSION = 1
ERASED_NAME = "Erased user"  # stored data, not interface text: the same in every language

# Never part of a download: they would let someone act as the person.
SECRET_COLUMNS = frozenset({"password_hash", "totp_secret", "totp_last_step", "token_hash", "code_hash"})

DELETED = "deleted"
ANONYMISED = "anonymised"
KEPT = "kept"


class PrivacyError(Exception):
    """A refusal with a message for the person."""


class WrongPassword(PrivacyError):
    pass


class ErasureRefused(PrivacyError):
    pass


def is_secret(column_name: str) -> bool:
    return column_name in SECRET_COLUMNS or column_name.endswith("_hash") or "secret" in column_name


# --- names of tables, for people ---------------------------------------------------

_TABLE_LABELS: dict[str, Any] = {
    "users": _l("Your account"),
    "user_roles": _l("Your roles"),
    "user_sessions": _l("Sign-ins"),
    "account_tokens": _l("E-mail links (confirmation, password reset)"),
    "recovery_codes": _l("Recovery codes for two-step sign-in"),
    "memberships": _l("Memberships of organisations"),
    "notifications": _l("Notifications"),
    "audit_entries": _l("Audit log entries of what you did"),
    "stored_files": _l("Files you uploaded"),
}


def register_table_label(table: str, label) -> None:
    """How a domain's table is named on the privacy pages (a lazy string)."""
    _TABLE_LABELS[table] = label


def table_label(table: str):
    # A table nobody named still shows, readable if not translated.
    return _TABLE_LABELS.get(table) or table.replace("_", " ").capitalize()


# --- where a person's rows are -------------------------------------------------------


def _user_columns(table: Table) -> list:
    """The columns of a table that refer to `users.id`."""
    return [
        column for column in table.columns
        if any(fk.column.table.name == "users" and fk.column.name == "id" for fk in column.foreign_keys)
    ]


def personal_tables() -> list[tuple[Table, list]]:
    """Every table (but `users` itself) with a column referring to a person, and those columns."""
    found = []
    for table in db.metadata.sorted_tables:
        if table.name == "users":
            continue  # the person's own row is exported on its own; other people's rows never
        columns = _user_columns(table)
        if columns:
            found.append((table, columns))
    return found


def _rows_of(table: Table, columns: list, user_id: int):
    return or_(*(column == user_id for column in columns))


def record_counts(user: User) -> dict[str, int]:
    """How many rows of each table refer to the person, in one query."""
    parts = [
        select(literal(table.name).label("name"), func.count().label("n"))
        .select_from(table).where(_rows_of(table, columns, user.id))
        for table, columns in personal_tables()
    ]
    if not parts:
        return {}
    return {name: n for name, n in db.session.execute(union_all(*parts)) if n}


# --- what we hold (the privacy centre) ----------------------------------------------


@dataclass
class HeldRecords:
    table: str
    label: Any
    count: int


def held_records(user: User) -> list[HeldRecords]:
    counts = record_counts(user)
    return sorted(
        (HeldRecords(name, table_label(name), n) for name, n in counts.items()),
        key=lambda h: str(h.label),
    )


def organisations_of(user: User) -> list[Organisation]:
    return list(db.session.execute(
        select(Organisation).join(Membership, Membership.organisation_id == Organisation.id)
        .where(Membership.user_id == user.id).order_by(Organisation.legal_name)
    ).scalars())


# --- the download ---------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A value as JSON can hold it: dates in ISO 8601, amounts as exact strings."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return str(value)


def _row_dict(row, table: Table, drop: Iterable[str] = ()) -> dict:
    skip = set(drop)
    return {
        column.name: _plain(row._mapping[column])
        for column in table.columns
        if not is_secret(column.name) and column.name not in skip
    }


def export_data(user: User) -> dict:
    """Everything opsapp holds about the person, as a JSON-ready document; audited."""
    users = User.__table__
    person_row = db.session.execute(select(users).where(users.c.id == user.id)).one()
    records: dict[str, list[dict]] = {}
    for table, columns in personal_tables():
        order = list(table.primary_key.columns) or list(table.columns)[:1]
        rows = db.session.execute(
            select(table).where(_rows_of(table, columns, user.id)).order_by(*order)
        ).all()
        if rows:
            records[table.name] = [_row_dict(row, table) for row in rows]

    organisations = Organisation.__table__
    organisation_rows = db.session.execute(
        select(organisations)
        .join(Membership.__table__, Membership.organisation_id == organisations.c.id)
        .where(Membership.user_id == user.id).order_by(organisations.c.id)
    ).all()

    # What others did to the account (roles given, account disabled): the person may know
    # what was done, not who among the staff did it or from where.
    about = db.session.execute(
        select(AuditEntry.__table__).where(
            AuditEntry.object_type == "users", AuditEntry.object_id == str(user.id),
            or_(AuditEntry.actor_id.is_(None), AuditEntry.actor_id != user.id),
        ).order_by(AuditEntry.id)
    ).all()

    document = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "generated_at": utcnow().isoformat(),
        "person": _row_dict(person_row, users),
        "organisations": [_row_dict(row, organisations) for row in organisation_rows],
        "records": records,
        "audit_entries_about_you": [
            _row_dict(row, AuditEntry.__table__, drop=("actor_id", "ip_address")) for row in about
        ],
    }
    audit.record("privacy.exported", user, actor=user,
                 tables=sorted(records), rows=sum(len(rows) for rows in records.values()))
    return document


# --- erasure ----------------------------------------------------------------------------


@dataclass
class ErasureItem:
    """One kind of record and what erasure does to it, as shown to the person."""

    label: Any  # a lazy string
    count: int
    outcome: str  # DELETED, ANONYMISED or KEPT
    reason: Any = None  # why it is kept (shown on the summary page and in the e-mail)
    until: date | None = None  # kept until this day, then anonymised
    tables: tuple[str, ...] = ()  # the tables this item accounts for


@dataclass
class Erasure:
    """What a handler is asked to do.

    `dry_run`: only count, change nothing (the summary page). `after_retention`: the person
    was erased earlier; anonymise whatever's retention period has ended by `now`.
    """

    user: User
    now: datetime
    dry_run: bool = False
    after_retention: bool = False


ErasureHandler = Callable[[Erasure], Iterable[ErasureItem] | None]
_HANDLERS: list[ErasureHandler] = []


def register_erasure_handler(fn: ErasureHandler) -> ErasureHandler:
    """Let a domain delete, anonymise or keep its rows of a person who asks for erasure.

    `fn(erasure)` returns the `ErasureItem`s it accounts for (also in a dry run, without
    changing anything); it flushes, never commits. Usable as a decorator.
    """
    if fn not in _HANDLERS:
        _HANDLERS.append(fn)
    return fn


def unregister_erasure_handler(fn: ErasureHandler) -> None:
    if fn in _HANDLERS:
        _HANDLERS.remove(fn)


def retention_end(last_event: date | datetime, years: int) -> date:
    """The last day a record must be kept: `years` after the end of the year of `last_event`
    (ERDF: five years from the end of the year of the last payment)."""
    return date(last_event.year + years, 12, 31)


@dataclass
class ErasureSummary:
    items: list[ErasureItem]
    blockers: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def of(self, outcome: str) -> list[ErasureItem]:
        return [item for item in self.items if item.outcome == outcome and item.count]

    @property
    def deleted(self) -> list[ErasureItem]:
        return self.of(DELETED)

    @property
    def anonymised(self) -> list[ErasureItem]:
        return self.of(ANONYMISED)

    @property
    def kept(self) -> list[ErasureItem]:
        return self.of(KEPT)


def _count(model, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0


_CORE_DELETES = (
    (Notification, Notification.user_id, _l("Notifications")),
    (UserSession, UserSession.user_id, _l("Sign-ins")),
    (AccountToken, AccountToken.user_id, _l("E-mail links (confirmation, password reset)")),
    (RecoveryCode, RecoveryCode.user_id, _l("Recovery codes for two-step sign-in")),
)


def _core_items(erasure: Erasure, covered: set[str]) -> list[ErasureItem]:
    """What erasure does to the tables of accounts and core (those no domain took over)."""
    user = erasure.user
    items = [ErasureItem(
        _l("Your account: name, e-mail, password and two-step sign-in"), 1, ANONYMISED, tables=("users",),
    )]
    for model, column, label in _CORE_DELETES:
        if model.__tablename__ in covered:
            continue
        n = _count(model, column == user.id)
        items.append(ErasureItem(label, n, DELETED, tables=(model.__tablename__,)))
        if n and not erasure.dry_run:
            db.session.execute(delete(model).where(column == user.id))
    if "memberships" not in covered:
        items.append(ErasureItem(_l("Memberships of organisations"), len(user.memberships), DELETED,
                                 tables=("memberships",)))
        if not erasure.dry_run:
            user.memberships.clear()  # delete-orphan: the rows go
    items.append(ErasureItem(_l("Your roles"), len(user.role_rows), DELETED, tables=("user_roles",)))
    if not erasure.dry_run:
        user.set_roles(())
    if "audit_entries" not in covered:
        items.append(ErasureItem(
            _l("Audit log entries of what you did"), _count(AuditEntry, AuditEntry.actor_id == user.id), KEPT,
            reason=_l("The audit log accounts for the use of public funds and protects the service; "
                      "it cannot be changed. It will show an erased user instead of you."),
            tables=("audit_entries",),
        ))
    return items


def _other_items(user: User, covered: set[str]) -> list[ErasureItem]:
    """Rows of tables nobody accounted for: kept with the records they belong to, and said so."""
    counts = record_counts(user)
    return [
        ErasureItem(table_label(name), n, KEPT,
                    reason=_l("Part of programme records that are kept; they will show an erased user instead of you."),
                    tables=(name,))
        for name, n in sorted(counts.items()) if name not in covered
    ]


def _run(erasure: Erasure) -> list[ErasureItem]:
    items: list[ErasureItem] = []
    # Domains first: they may still need the memberships and the account to find their rows.
    for handler in list(_HANDLERS):
        items.extend(handler(erasure) or ())
    covered = {t for item in items for t in item.tables}
    core = _core_items(erasure, covered)
    items.extend(core)
    covered |= {t for item in core for t in item.tables}
    items.extend(_other_items(erasure.user, covered))
    return items


def _blockers(user: User, lock: bool = False) -> list[str]:
    if user.has_role(Role.ADMIN):
        stmt = select(UserRole.user_id).join(User, User.id == UserRole.user_id).where(
            UserRole.role == Role.ADMIN.value, User.disabled_at.is_(None), User.erased_at.is_(None),
        )
        if lock and db.engine.dialect.name == "postgresql":
            # Every admin row, one's own too: two last admins erasing themselves at once
            # then wait for each other instead of both succeeding (SQLite serialises writers).
            stmt = stmt.with_for_update(of=UserRole)
        if not set(db.session.scalars(stmt)) - {user.id}:
            return [str(_l("You are the only active administrator. Give the administrator role to "
                           "someone else first, so that opsapp is never left without one."))]
    return []


def _warnings(user: User) -> list[str]:
    warnings = []
    for membership in user.memberships:
        if membership.role != "owner":
            continue
        owners = _count(Membership, Membership.organisation_id == membership.organisation_id,
                        Membership.role == "owner")
        if owners <= 1:
            warnings.append(str(_l(
                "You are the only owner of “%(name)s”. After the erasure nobody can manage its profile "
                "until the programme staff name a new owner.", name=membership.organisation.legal_name)))
    return warnings


def erasure_summary(user: User) -> ErasureSummary:
    """What an erasure would delete, anonymise and keep (and why), changing nothing."""
    items = _run(Erasure(user, utcnow(), dry_run=True))
    return ErasureSummary(items, _blockers(user), _warnings(user))


def erase(user: User, password: str) -> list[ErasureItem]:
    """Erase the person's account after checking their password; signs them out. The caller commits."""
    if user.erased_at is not None:
        raise ErasureRefused(str(_l("This account is already erased.")))
    if not verify_password(user.password_hash, password or ""):
        raise WrongPassword(str(_l("Your password is not correct.")))
    blockers = _blockers(user, lock=True)
    if blockers:
        raise ErasureRefused(" ".join(blockers))
    now = utcnow()
    # Every sign-in ends the way accounts ends them; the rows themselves, personal data,
    # are deleted below with the rest.
    sessions.revoke_all(user)
    items = _run(Erasure(user, now))
    # The confirmation goes to the real address, so it is queued before the address is gone;
    # no in-app notice, since the account will not be used again.
    notify(user, _l("Your opsapp account is erased"), "privacy_erased", in_app=False,
           kept=[item for item in items if item.outcome == KEPT and item.count])
    audit.record(
        "privacy.erased", user, actor=user,
        **{outcome: sum(i.count for i in items if i.outcome == outcome) for outcome in (DELETED, ANONYMISED, KEPT)},
    )
    _anonymise(user, now)
    db.session.flush()
    if has_request_context() and current_user.is_authenticated and current_user.id == user.id:
        locale = session.get("locale")
        logout_user()
        session.clear()
        if locale:
            session["locale"] = locale
    return items


def _anonymise(user: User, now: datetime) -> None:
    user.email = f"erased-{user.id}@erased.invalid"
    user.full_name = ERASED_NAME
    user.password_hash = None
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.email_confirmed_at = None
    user.last_login_at = None
    user.erasure_requested_at = user.erasure_requested_at or now
    user.erased_at = now


def anonymise_expired(now: datetime | None = None) -> int:
    """Ask every domain to anonymise kept records of erased people whose retention has ended.

    For the scheduled job; returns how many records were anonymised. The caller commits.
    """
    now = now or utcnow()
    done = 0
    erased = db.session.execute(select(User).where(User.erased_at.is_not(None)).order_by(User.id)).scalars()
    for user in erased:
        erasure = Erasure(user, now, after_retention=True)
        for handler in list(_HANDLERS):
            done += sum(item.count for item in handler(erasure) or () if item.outcome == ANONYMISED)
    return done

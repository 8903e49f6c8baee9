"""Use cases of user administration: find, create and invite people, change their roles,
disable and enable accounts, reset a lost second factor, end sign-ins, and the figures an
administrator's home shows. Every function checks that the actor is an administrator,
records what changed in the audit log and flushes; the caller commits once.

The rules that keep the system manageable live here, not in the views: nobody removes
their own administrator role or disables themselves, and the last active administrator
keeps the role, so there is always someone who can repair an account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app, url_for
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, and_, case, func, literal_column, or_, select, text, union_all
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from opsapp.accounts import second_factor, sessions, tokens
from opsapp.accounts.models import Membership, TokenPurpose, User, UserRole, UserSession
from opsapp.accounts.services import AccountError, find_by_email, normalise_email
from opsapp.core import audit, exports
from opsapp.core.models import AuditEntry, JobRun
from opsapp.core.notifications import notify
from opsapp.core.permissions import deny, require
from opsapp.core.roles import ROLE_LABELS, Role
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db


class AdminError(AccountError):
    """A refusal an administrator can understand and act on."""


class DuplicateEmail(AdminError):
    """Another account already uses this e-mail address."""


# --- statuses ------------------------------------------------------------------------

ACTIVE, UNCONFIRMED, DISABLED, ERASED = "active", "unconfirmed", "disabled", "erased"
STATUSES = (ACTIVE, UNCONFIRMED, DISABLED, ERASED)
STATUS_LABELS = {
    ACTIVE: _l("Active"),
    UNCONFIRMED: _l("Not confirmed yet"),
    DISABLED: _l("Disabled"),
    ERASED: _l("Erased"),
}


def status_of(user: User) -> str:
    """One status per person, in order of precedence: erased, disabled, unconfirmed, active."""
    if user.erased_at is not None:
        return ERASED
    if user.disabled_at is not None:
        return DISABLED
    if user.email_confirmed_at is None:
        return UNCONFIRMED
    return ACTIVE


def _status_condition(status: str):
    """The same precedence as status_of(), as SQL."""
    not_erased = User.erased_at.is_(None)
    not_disabled = User.disabled_at.is_(None)
    return {
        ERASED: User.erased_at.is_not(None),
        DISABLED: and_(not_erased, User.disabled_at.is_not(None)),
        UNCONFIRMED: and_(not_erased, not_disabled, User.email_confirmed_at.is_(None)),
        ACTIVE: and_(not_erased, not_disabled, User.email_confirmed_at.is_not(None)),
    }[status]


def _status_column():
    # Literal SQL, not bound parameters: PostgreSQL must see the same expression in the
    # select list and in GROUP BY.
    return case(
        (User.erased_at.is_not(None), literal_column(f"'{ERASED}'")),
        (User.disabled_at.is_not(None), literal_column(f"'{DISABLED}'")),
        (User.email_confirmed_at.is_(None), literal_column(f"'{UNCONFIRMED}'")),
        else_=literal_column(f"'{ACTIVE}'"),
    )


def invitation_pending(user: User) -> bool:
    """The person has not chosen a password through an invitation or confirmed the address yet."""
    return user.is_active and (user.password_hash is None or user.email_confirmed_at is None)


# --- permission --------------------------------------------------------------------


def _require_admin(actor: User) -> None:
    require(actor is not None and actor.is_authenticated and actor.has_role(Role.ADMIN))


def _refuse_if_erased(user: User) -> None:
    if user.erased_at is not None:
        raise AdminError(_l("This account was erased; it can no longer be changed."))


def _active_admin_ids(lock: bool = False) -> set[int]:
    """Active administrators. With `lock`, their role rows are locked on PostgreSQL, so two
    administrators demoting each other at the same moment cannot both succeed (SQLite
    serialises writers anyway: every transaction begins IMMEDIATE)."""
    stmt = (
        select(UserRole.user_id)
        .join(User, User.id == UserRole.user_id)
        .where(UserRole.role == str(Role.ADMIN), User.disabled_at.is_(None), User.erased_at.is_(None))
    )
    if lock and db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=UserRole)
    return set(db.session.scalars(stmt))


# --- finding people ------------------------------------------------------------------

SORTS = {
    "name": lambda: [func.lower(User.full_name).asc(), User.id.asc()],
    "-name": lambda: [func.lower(User.full_name).desc(), User.id.desc()],
    "created": lambda: [User.created_at.asc(), User.id.asc()],
    "-created": lambda: [User.created_at.desc(), User.id.desc()],
    "last_login": lambda: [User.last_login_at.asc().nulls_first(), User.id.asc()],
    "-last_login": lambda: [User.last_login_at.desc().nulls_last(), User.id.desc()],
}


@dataclass
class UserFilters:
    q: str = ""
    role: str = ""
    status: str = ""
    sort: str = "name"

    def as_args(self) -> dict:
        """The non-empty filters, for links that keep them."""
        return {k: v for k, v in (("q", self.q), ("role", self.role), ("status", self.status),
                                  ("sort", self.sort)) if v}


# "!" rather than a backslash: PostgreSQL and SQLite read it the same way.
LIKE_ESCAPE = "!"


def _like_pattern(text_: str) -> str:
    """A LIKE pattern that finds the text anywhere, its own % and _ taken literally."""
    escaped = text_.lower().replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


def user_query(actor: User, filters: UserFilters):
    """The users matching the filters, sorted; a Select for pagination or export.

    Roles come with each user through `User.role_rows` (selectin): one more query per page,
    not one per row.
    """
    _require_admin(actor)
    stmt = select(User)
    q = (filters.q or "").strip()
    if q:
        pattern = _like_pattern(q)
        stmt = stmt.where(or_(func.lower(User.full_name).like(pattern, escape=LIKE_ESCAPE),
                              func.lower(User.email).like(pattern, escape=LIKE_ESCAPE)))
    if filters.role in {str(r) for r in Role}:
        stmt = stmt.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == filters.role)))
    if filters.status in STATUSES:
        stmt = stmt.where(_status_condition(filters.status))
    return stmt.order_by(*SORTS.get(filters.sort, SORTS["name"])())


def count_users(actor: User) -> int:
    _require_admin(actor)
    return db.session.scalar(select(func.count(User.id))) or 0


def get_user(actor: User, user_id: int) -> User | None:
    _require_admin(actor)
    return db.session.get(User, user_id)


# --- export --------------------------------------------------------------------------

EXPORT_COLUMNS = ("id", "full_name", "email", "roles", "status", "language", "created_at",
                  "email_confirmed_at", "last_login_at", "second_factor")


def export_users(actor: User, filters: UserFilters) -> str:
    """The matching users as CSV (see core.exports); audited."""
    rows = [(user.id, user.full_name, user.email, " ".join(sorted(r.role for r in user.role_rows)),
             status_of(user), user.locale, user.created_at, user.email_confirmed_at,
             user.last_login_at, user.totp_enabled)
            for user in db.session.scalars(user_query(actor, filters))]
    audit.record("users.exported", actor=actor, object_type="users", rows=len(rows),
                 filters=filters.as_args())
    return exports.csv_text(EXPORT_COLUMNS, rows)


# --- creating and inviting -----------------------------------------------------------


def _clean_roles(roles) -> set[str]:
    known = {str(r) for r in Role}
    wanted = {str(r) for r in roles or () if str(r) in known}
    if not wanted:
        raise AdminError(_l("Choose at least one role."))
    return wanted


def create_user(actor: User, *, full_name: str, email: str, roles, locale: str = "en") -> User:
    """Create an account without a password and send the invitation to choose one."""
    _require_admin(actor)
    email = normalise_email(email)
    wanted = _clean_roles(roles)
    if locale not in current_app.config["LANGUAGES"]:
        locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    if find_by_email(email):
        raise DuplicateEmail(_l("Another account already uses this e-mail address."))
    user = User(email=email, full_name=full_name.strip(), password_hash=None, locale=locale)
    user.set_roles(wanted)
    try:
        # A savepoint: if another administrator created the same address a moment ago,
        # the unique constraint refuses this one and the rest of the transaction survives.
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        raise DuplicateEmail(_l("Another account already uses this e-mail address.")) from None
    audit.record("user.created", user, actor=actor, roles=sorted(wanted), locale=locale)
    _send_invitation(user)
    audit.record("user.invited", user, actor=actor)
    return user


def _send_invitation(user: User) -> None:
    token = tokens.issue(user, TokenPurpose.INVITATION)
    lifetime = current_app.config["TOKEN_LIFETIMES"][str(TokenPurpose.INVITATION)]
    notify(user, _l("Your opsapp account is ready: choose your password"), "invitation",
           in_app=False, link=url_for("accounts.reset_password", token=token),
           valid_days=max(1, lifetime.days))


def resend_invitation(actor: User, user: User) -> None:
    _require_admin(actor)
    _refuse_if_erased(user)
    if not invitation_pending(user):
        raise AdminError(_l("This person has already accepted the invitation. "
                            "If they forgot the password, they can reset it from the sign-in page."))
    _send_invitation(user)
    audit.record("user.invitation_resent", user, actor=actor)


# --- roles ---------------------------------------------------------------------------


def _role_list(roles) -> LazyString:
    """The roles' names in the recipient's language, resolved when the e-mail is rendered."""
    ordered = [r for r in Role if str(r) in {str(x) for x in roles}]
    return LazyString(lambda: ", ".join(str(ROLE_LABELS[r]) for r in ordered))


def change_roles(actor: User, user: User, roles) -> bool:
    """Give the person exactly these roles; returns False when nothing changed."""
    _require_admin(actor)
    _refuse_if_erased(user)
    wanted = _clean_roles(roles)
    before = {r.role for r in user.role_rows}
    if wanted == before:
        return False
    admin = str(Role.ADMIN)
    if admin in before and admin not in wanted:
        if user.id == actor.id:
            raise AdminError(_l("You cannot remove your own administrator role. "
                                "Ask another administrator to do it."))
        if _active_admin_ids(lock=True) <= {user.id}:
            raise AdminError(_l("This is the last active administrator: give the role to "
                                "someone else first."))
    user.set_roles(wanted)
    db.session.flush()
    audit.record("user.roles_changed", user, actor=actor, before=sorted(before), after=sorted(wanted))
    notify(user, _l("Your roles in opsapp changed"), "generic", link=url_for("core.home"),
           message=_l("Your roles are now: %(roles)s. What you can see and do changes from your next page.",
                      roles=_role_list(wanted)))
    return True


# --- status --------------------------------------------------------------------------


def disable_user(actor: User, user: User) -> None:
    """Disable the account and end every sign-in at once."""
    _require_admin(actor)
    _refuse_if_erased(user)
    if user.id == actor.id:
        raise AdminError(_l("You cannot disable your own account."))
    if user.disabled_at is not None:
        raise AdminError(_l("This account is already disabled."))
    if user.has_role(Role.ADMIN) and _active_admin_ids(lock=True) <= {user.id}:
        raise AdminError(_l("This is the last active administrator: it cannot be disabled."))
    user.disabled_at = utcnow()
    sessions.revoke_all(user)
    audit.record("user.disabled", user, actor=actor)
    # E-mail only: the person can no longer read in-app notices.
    notify(user, _l("Your opsapp account was disabled"), "generic", in_app=False,
           message=_l("Your opsapp account was disabled by an administrator and you were signed out. "
                      "If you think this is a mistake, contact the programme staff."))


def enable_user(actor: User, user: User) -> None:
    _require_admin(actor)
    _refuse_if_erased(user)
    if user.disabled_at is None:
        raise AdminError(_l("This account is not disabled."))
    user.disabled_at = None
    audit.record("user.enabled", user, actor=actor)
    notify(user, _l("Your opsapp account is enabled again"), "generic",
           link=url_for("accounts.login"),
           message=_l("Your opsapp account was enabled again by an administrator. You can sign in."))


# --- second factor and sign-ins ------------------------------------------------------


def reset_second_factor(actor: User, user: User) -> None:
    """For a person who lost their authenticator and recovery codes: they enrol again."""
    _require_admin(actor)
    _refuse_if_erased(user)
    if user.id == actor.id:
        # One's own second factor is managed from the profile, where the password is asked.
        raise AdminError(_l("Manage your own two-step sign-in from your account page."))
    if not user.totp_enabled and user.totp_secret is None:
        raise AdminError(_l("This person has no two-step sign-in to reset."))
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    second_factor.drop_recovery_codes(user)
    audit.record("user.second_factor_reset", user, actor=actor)
    notify(user, _l("Your two-step sign-in was reset"), "generic", link=url_for("accounts.profile"),
           message=_l("An administrator reset the two-step sign-in of your opsapp account: your "
                      "authenticator app and recovery codes no longer work. Set it up again from your "
                      "account page. If you did not ask for this, tell the programme staff at once."))


def live_sessions(actor: User, user: User) -> list[UserSession]:
    _require_admin(actor)
    rows = db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .order_by(UserSession.last_seen_at.desc())
    )
    now = utcnow()
    return [row for row in rows if sessions.is_live(row, now)]


def revoke_session(actor: User, user: User, session_id: int) -> None:
    _require_admin(actor)
    row = db.session.get(UserSession, session_id)
    if row is None or row.user_id != user.id:
        deny()
    if row.revoked_at is not None:
        raise AdminError(_l("This sign-in had already ended."))
    row.revoked_at = utcnow()
    audit.record("user.session_revoked", user, actor=actor, session_id=row.id)


def revoke_all_sessions(actor: User, user: User) -> None:
    _require_admin(actor)
    # An administrator ending their own sign-ins keeps the one in use.
    keep = actor.get_id() if user.id == actor.id else None
    sessions.revoke_all(user, keep_token=keep)
    audit.record("user.sessions_revoked", user, actor=actor)


# --- what the detail page shows ------------------------------------------------------


def memberships_of(actor: User, user: User) -> list[Membership]:
    _require_admin(actor)
    return sorted(user.memberships, key=lambda m: m.id)


ACTION_LABELS = {
    "account.registered": _l("Registered"),
    "account.email_confirmed": _l("Confirmed the e-mail address"),
    "account.profile_updated": _l("Updated the profile"),
    "account.register_existing": _l("Someone tried to register again with this e-mail"),
    "login.succeeded": _l("Signed in"),
    "login.failed": _l("Failed sign-in"),
    "login.password_ok": _l("Password accepted, waiting for the second factor"),
    "login.second_factor_failed": _l("Wrong two-step code"),
    "login.recovery_code_used": _l("Used a recovery code"),
    "login.refused_inactive": _l("Sign-in refused: account disabled"),
    "login.refused_unconfirmed": _l("Sign-in refused: e-mail not confirmed"),
    "logout": _l("Signed out"),
    "password.reset_requested": _l("Asked for a password reset"),
    "password.reset": _l("Chose a new password by e-mail link"),
    "password.changed": _l("Changed the password"),
    "second_factor.enabled": _l("Turned on two-step sign-in"),
    "second_factor.disabled": _l("Turned off two-step sign-in"),
    "second_factor.recovery_codes_renewed": _l("Made new recovery codes"),
    "access.denied": _l("Access denied"),
    "user.created": _l("Account created"),
    "user.invited": _l("Invitation sent"),
    "user.invitation_resent": _l("Invitation sent again"),
    "user.roles_changed": _l("Roles changed"),
    "user.disabled": _l("Account disabled"),
    "user.enabled": _l("Account enabled"),
    "user.second_factor_reset": _l("Two-step sign-in reset"),
    "user.session_revoked": _l("A sign-in was ended"),
    "user.sessions_revoked": _l("Every sign-in was ended"),
    "users.exported": _l("Exported the user list"),
}


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


@dataclass
class TimelineEntry:
    entry: AuditEntry
    actor: User | None
    subject: User | None  # the person the entry is about, when it is about a person
    about_this_user: bool
    label: str
    detail: dict = field(default_factory=dict)


def timeline(actor: User, user: User, limit: int = 20) -> list[TimelineEntry]:
    """The latest audit entries about this person or done by them, newest first."""
    _require_admin(actor)
    about = and_(AuditEntry.object_type == User.__tablename__, AuditEntry.object_id == str(user.id))
    entries = list(db.session.scalars(
        select(AuditEntry).where(or_(about, AuditEntry.actor_id == user.id))
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit)
    ))
    return _with_actors(entries, about_user_id=user.id)


def _with_actors(entries: list[AuditEntry], about_user_id: int | None = None) -> list[TimelineEntry]:
    def subject_id(e: AuditEntry) -> int | None:
        if e.object_type == User.__tablename__ and (e.object_id or "").isdigit():
            return int(e.object_id)
        return None

    # Actors and subjects in one query, whatever the number of entries.
    ids = {e.actor_id for e in entries if e.actor_id is not None} | {subject_id(e) for e in entries}
    ids.discard(None)
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    return [
        TimelineEntry(
            entry=e, actor=people.get(e.actor_id), subject=people.get(subject_id(e)),
            about_this_user=about_user_id is not None and e.object_type == User.__tablename__
            and e.object_id == str(about_user_id),
            label=action_label(e.action), detail=e.detail or {},
        )
        for e in entries
    ]


# --- the administrator's home ------------------------------------------------------

ALL_ROLES = "*"


def role_status_counts(actor: User) -> dict:
    """People by role and status, and all people by status, from one grouped statement.

    A person with two roles counts once in each role and once in the total, so the
    total cannot be summed from the roles; the second half of the UNION counts it.
    Returns {role or "*" (all) or None (no role): {status: count}}.
    """
    _require_admin(actor)
    status = _status_column().label("status")
    by_role = (
        select(UserRole.role.label("role"), status, func.count(func.distinct(User.id)).label("n"))
        .select_from(User).outerjoin(UserRole, UserRole.user_id == User.id)
        .group_by(UserRole.role, status)
    )
    all_status = _status_column().label("status")
    overall = (
        select(literal_column(f"'{ALL_ROLES}'", String).label("role"), all_status, func.count(User.id).label("n"))
        .select_from(User).group_by(all_status)
    )
    counts: dict = {}
    for role, st, n in db.session.execute(union_all(by_role, overall)):
        counts.setdefault(role, dict.fromkeys(STATUSES, 0))[st] = n
    return counts


def recent_audit(actor: User, limit: int = 5) -> list[TimelineEntry]:
    _require_admin(actor)
    entries = list(db.session.scalars(
        select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit)
    ))
    return _with_actors(entries)


@dataclass
class JobHealth:
    name: str
    schedule: str
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    last_result: str | None = None

    @property
    def state(self) -> str:
        if self.last_started_at is None:
            return "never"
        return "finished" if self.last_finished_at is not None else "running"


@dataclass
class SystemHealth:
    database_ok: bool
    jobs: list[JobHealth]
    live_sessions: int


def system_health(actor: User) -> SystemHealth:
    """Does the database answer; when did each scheduled job last run and with what result;
    how many sign-ins are live."""
    _require_admin(actor)
    from opsapp.jobs import JOBS

    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return SystemHealth(database_ok=False, jobs=[JobHealth(j.name, j.describe()) for j in JOBS.values()],
                            live_sessions=0)
    latest = select(func.max(JobRun.id)).group_by(JobRun.job).scalar_subquery()
    runs = {r.job: r for r in db.session.scalars(select(JobRun).where(JobRun.id.in_(latest)))}
    jobs = []
    for definition in JOBS.values():
        run = runs.get(definition.name)
        jobs.append(JobHealth(
            definition.name, definition.describe(),
            last_started_at=run.started_at if run else None,
            last_finished_at=run.finished_at if run else None,
            last_result=run.result if run else None,
        ))
    now = utcnow()
    cfg = current_app.config
    live = db.session.scalar(
        select(func.count(UserSession.id)).where(
            UserSession.revoked_at.is_(None),
            UserSession.last_seen_at >= now - cfg["SESSION_IDLE_TIMEOUT"],
            UserSession.created_at >= now - cfg["SESSION_ABSOLUTE_TIMEOUT"],
        )
    ) or 0
    return SystemHealth(database_ok=True, jobs=jobs, live_sessions=live)

"""The administrator's home: who uses the system (people by role and status), what
happened last (the latest audit entries), and whether the system is healthy (the
database answers, each scheduled job's last run, live sign-ins). Registered with
`opsapp.core.home`; the figures come from `opsapp.accounts.admin`."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from opsapp.accounts import admin
from opsapp.core.home import Panel, panel
from opsapp.core.roles import ROLE_LABELS, Role


@panel(Role.ADMIN, order=10)
def users_panel(user) -> Panel:
    counts = admin.role_status_counts(user)
    rows = [(role, ROLE_LABELS[role], counts.get(str(role), dict.fromkeys(admin.STATUSES, 0)))
            for role in Role]
    return Panel(_l("People"), "accounts/panels/admin_users.html", {
        "role_rows": rows,
        "totals": counts.get(admin.ALL_ROLES, dict.fromkeys(admin.STATUSES, 0)),
        "without_role": sum(counts.get(None, {}).values()),
        "statuses": admin.STATUSES,
        "status_labels": admin.STATUS_LABELS,
    })


@panel(Role.ADMIN, order=20)
def recent_activity_panel(user) -> Panel:
    return Panel(_l("Latest activity"), "accounts/panels/admin_activity.html", {
        "entries": admin.recent_audit(user, limit=5),
    })


@panel(Role.ADMIN, order=30)
def system_health_panel(user) -> Panel:
    return Panel(_l("System health"), "accounts/panels/admin_health.html", {
        "health": admin.system_health(user),
    })

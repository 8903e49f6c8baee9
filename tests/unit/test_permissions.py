"""The access declarations every view carries, tested one by one."""

from types import SimpleNamespace

import pytest

from opsapp.core.permissions import (
    PUBLIC,
    SIGNED_IN,
    Access,
    access_of,
    public,
    roles_required,
    signed_in,
)
from opsapp.core.roles import Role


def person(*roles, authenticated=True):
    held = {str(r) for r in roles}
    return SimpleNamespace(is_authenticated=authenticated,
                           has_role=lambda *wanted: any(str(Role(w)) in held for w in wanted))


ANONYMOUS = person(authenticated=False)


def test_public_allows_everyone():
    assert Access(PUBLIC).allows(ANONYMOUS)
    assert Access(PUBLIC).allows(person(Role.APPLICANT))


def test_signed_in_refuses_anonymous_only():
    assert not Access(SIGNED_IN).allows(ANONYMOUS)
    assert Access(SIGNED_IN).allows(person())


def test_roles_need_one_of_them():
    access = Access("roles", frozenset({Role.STAFF, Role.ADMIN}))
    assert access.allows(person(Role.STAFF))
    assert access.allows(person(Role.APPLICANT, Role.ADMIN))
    assert not access.allows(person(Role.APPLICANT))
    assert not access.allows(person(Role.AUTHORITY, Role.EVALUATOR))
    assert not access.allows(ANONYMOUS)


def test_decorators_declare_access_and_undeclared_views_have_none():
    def view():
        return None

    assert access_of(view) is None
    assert access_of(public(view)).kind == PUBLIC

    def other():
        return None

    assert access_of(signed_in(other)).kind == SIGNED_IN

    def third():
        return None

    declared = roles_required(Role.STAFF, "admin")(third)
    assert access_of(declared).roles == frozenset({Role.STAFF, Role.ADMIN})


def test_roles_required_needs_a_role_and_knows_the_roles():
    with pytest.raises(ValueError):
        roles_required()
    with pytest.raises(ValueError):
        roles_required("superuser")

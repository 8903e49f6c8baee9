"""Money stays exact and reads as the programme writes it; times stay UTC and aware through the
real database; redirects taken from a request stay on this site."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text
from sqlalchemy.exc import StatementError

from opsapp.core.money import MoneyError, format_money, to_money
from opsapp.core.redirects import safe_next
from opsapp.core.types import Money, UTCDateTime
from opsapp.extensions import db

# --- money -------------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    ("1250", Decimal("1250.00")),
    ("1250.5", Decimal("1250.50")),
    (" 1 250.00 ", Decimal("1250.00")),
    (1250, Decimal("1250.00")),
    (Decimal("0.005"), Decimal("0.01")),  # half up, as in accounting
    ("2.675", Decimal("2.68")),  # a float would make this 2.67
    ("-10.004", Decimal("-10.00")),
])
def test_to_money_is_exact(value, expected):
    amount = to_money(value)
    assert amount == expected
    assert amount.as_tuple().exponent == -2


def test_to_money_adds_up_where_floats_do_not():
    assert 0.1 + 0.2 != 0.3
    assert to_money("0.1") + to_money("0.2") == to_money("0.3")


@pytest.mark.parametrize("value", [0.1, 1250.0, float("nan")])
def test_floats_are_refused(value):
    with pytest.raises(MoneyError):
        to_money(value)


@pytest.mark.parametrize("value", ["", "abc", "12,50", "1e", None, "NaN", "Infinity", "-inf", [1]])
def test_what_is_not_an_amount_is_refused(value):
    with pytest.raises(MoneyError):
        to_money(value)


@pytest.mark.parametrize("amount, locale, shown", [
    (Decimal("1250"), "en", "EUR 1,250.00"),
    (Decimal("1250"), "it", "1.250,00 EUR"),
    (Decimal("1234567.891"), "en", "EUR 1,234,567.89"),
    (Decimal("1234567.891"), "it", "1.234.567,89 EUR"),
    (Decimal("0.5"), "en", "EUR 0.50"),
    (0, "it", "0,00 EUR"),
    (Decimal("-75.10"), "en", "EUR -75.10"),
])
def test_format_money(amount, locale, shown):
    assert format_money(amount, locale) == shown


def test_format_money_of_nothing_is_empty():
    assert format_money(None) == ""


@given(st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False))
def test_an_amount_with_two_places_is_kept_as_it_is(amount):
    assert to_money(amount) == amount
    assert to_money(str(amount)) == amount


# --- column types, through the real database ---------------------------------------------------


@pytest.fixture
def scratch_table(app):
    """A table of its own, outside the application's schema, holding one column of each type."""
    metadata = MetaData()
    table = Table("test_type_round_trips", metadata,
                  Column("id", Integer, primary_key=True),
                  Column("amount", Money),
                  Column("at", UTCDateTime))
    with app.app_context():
        metadata.create_all(db.engine)
        try:
            yield table
        finally:
            db.session.rollback()
            metadata.drop_all(db.engine)
            db.session.remove()


def _round_trip(table, **values):
    row_id = db.session.execute(insert(table).values(**values)).inserted_primary_key[0]
    db.session.commit()
    return db.session.execute(select(table).where(table.c.id == row_id)).one()


@pytest.mark.parametrize("amount, cents", [
    (Decimal("1250.00"), 125000),
    (Decimal("0.01"), 1),
    (Decimal("2.675"), 268),
    (Decimal("123456789012.34"), 12345678901234),
    (Decimal("-5.5"), -550),
    (0, 0),
])
def test_money_is_stored_as_integer_cents_and_read_as_decimal(scratch_table, amount, cents):
    row = _round_trip(scratch_table, amount=amount)
    assert isinstance(row.amount, Decimal)
    assert row.amount == to_money(amount)
    assert row.amount.as_tuple().exponent == -2
    stored = db.session.execute(text("SELECT amount FROM test_type_round_trips WHERE id = :id"),
                                {"id": row.id}).scalar_one()
    assert stored == cents and isinstance(stored, int)


def test_missing_money_stays_missing(scratch_table):
    assert _round_trip(scratch_table, amount=None).amount is None


def test_times_come_back_aware_in_utc(scratch_table):
    rome = datetime(2027, 3, 10, 9, 20, tzinfo=ZoneInfo("Europe/Rome"))
    row = _round_trip(scratch_table, at=rome)
    assert row.at.tzinfo is UTC
    assert row.at == rome  # the same instant
    assert row.at.hour == 8  # 09:20 CET is 08:20 UTC
    # Summer time: the offset changes, the instant does not.
    summer = datetime(2027, 7, 1, 9, 0, tzinfo=ZoneInfo("Europe/Rome"))
    assert _round_trip(scratch_table, at=summer).at == datetime(2027, 7, 1, 7, 0, tzinfo=UTC)


def test_microseconds_survive(scratch_table):
    moment = datetime(2027, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert _round_trip(scratch_table, at=moment).at == moment


def test_a_naive_time_is_refused(scratch_table):
    with pytest.raises(StatementError, match="naive datetime"):
        db.session.execute(insert(scratch_table).values(at=datetime(2027, 3, 10, 9, 20)))


# --- redirects ---------------------------------------------------------------------------------


@pytest.mark.parametrize("target", [
    "//evil.example", "https://evil.example", "http://evil.example/calls", "/\\evil.example",
    "\\\\evil.example", "javascript:alert(1)", "JavaScript:alert(1)", "evil.example/calls",
    "/calls\r\nLocation: https://evil.example", "/\tevil", " //evil.example", "", None,
    "///evil.example", "data:text/html,<script>x</script>",
])
def test_safe_next_refuses_other_sites(target):
    assert safe_next(target) is None


@pytest.mark.parametrize("target", ["/calls?x=1", "/", "/account/privacy", "/calls/3#scores", "/a:b"])
def test_safe_next_accepts_local_paths(target):
    assert safe_next(target) == target

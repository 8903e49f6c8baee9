"""Money in EUR: exact `Decimal` with two places, shown as "EUR 1,250.00" or "1.250,00 EUR"."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_decimal

CENT = Decimal("0.01")


class MoneyError(ValueError):
    pass


def to_money(value: object) -> Decimal:
    """Parse an amount exactly; floats are refused because they are not exact."""
    if isinstance(value, float):
        raise MoneyError("amounts must not be floats")
    if isinstance(value, str):
        value = value.strip().replace(" ", "")
    try:
        amount = Decimal(value)  # type: ignore[arg-type]
    except (InvalidOperation, TypeError, ValueError):
        raise MoneyError(f"not an amount: {value!r}") from None
    if not amount.is_finite():
        raise MoneyError("not a finite amount")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(amount: Decimal | int | None, locale: str = "en") -> str:
    if amount is None:
        return ""
    number = format_decimal(to_money(amount), format="#,##0.00", locale=locale)
    if str(locale).startswith("it"):
        return f"{number} EUR"
    return f"EUR {number}"

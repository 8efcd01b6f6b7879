"""Showing money to people. Amounts are stored as integer minor units (cents) plus an ISO 4217 code;
this module only turns such a pair into text and never does arithmetic on it."""

from decimal import Decimal

# Digits after the decimal point where it is not 2 (ISO 4217 "minor unit").
_MINOR_DIGITS = {"BHD": 3, "CLP": 0, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "OMR": 3,
                 "TND": 3, "TWD": 2, "UGX": 0, "VND": 0}
# A symbol where one is common; the code is always printed too, so "$" stays unambiguous.
_SYMBOLS = {"AUD": "$", "CAD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "NZD": "$", "USD": "$"}


def format_money(amount_minor: int, currency: str) -> str:
    """450, "USD" -> "$4.50 USD"; -50, "EUR" -> "-€0.50 EUR"; 1200, "JPY" -> "¥1,200 JPY"."""
    currency = currency.upper()
    digits = _MINOR_DIGITS.get(currency, 2)
    major = Decimal(abs(int(amount_minor))).scaleb(-digits)
    sign = "-" if amount_minor < 0 else ""
    return f"{sign}{_SYMBOLS.get(currency, '')}{major:,.{digits}f} {currency}"

"""Showing money to people. Amounts are stored as integer minor units (cents) plus an ISO 4217 code;
this module turns such a pair into text and back (admin forms) and never does arithmetic on it."""

import re
from decimal import Decimal

# Digits after the decimal point where it is not 2 (ISO 4217 "minor unit").
_MINOR_DIGITS = {"BHD": 3, "CLP": 0, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "OMR": 3,
                 "TND": 3, "TWD": 2, "UGX": 0, "VND": 0}
# A symbol where one is common; the code is always printed too, so "$" stays unambiguous.
_SYMBOLS = {"AUD": "$", "CAD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "NZD": "$", "USD": "$"}


def format_money(amount_minor: int, currency: str) -> str:
    """450, "USD" -> "$4.50 USD"; -50, "EUR" -> "-€0.50 EUR"; 1200, "JPY" -> "¥1,200 JPY"."""
    currency = currency.upper()
    digits = minor_digits(currency)
    major = Decimal(abs(int(amount_minor))).scaleb(-digits)
    sign = "-" if amount_minor < 0 else ""
    return f"{sign}{_SYMBOLS.get(currency, '')}{major:,.{digits}f} {currency}"


def format_price_change(amount_minor: int, currency: str) -> str:
    """A modifier's effect on a price: 70 -> "+$0.70 USD", -50 -> "-$0.50 USD"."""
    return ("+" if amount_minor > 0 else "") + format_money(amount_minor, currency)


def minor_digits(currency: str) -> int:
    """Digits after the decimal point of `currency`: 2 for USD, 0 for JPY, 3 for KWD."""
    return _MINOR_DIGITS.get(currency.upper(), 2)


def format_amount(amount_minor: int, currency: str) -> str:
    """450, "USD" -> "4.50": the plain number a person types back into a form (no symbol, no code)."""
    digits = minor_digits(currency)
    return f"{Decimal(int(amount_minor)).scaleb(-digits):.{digits}f}"


_AMOUNT = re.compile(r"-?\d+(\.\d+)?")


def parse_money(text: str, currency: str) -> int:
    """"4.50", "USD" -> 450; "4", "USD" -> 400; "1200", "JPY" -> 1200. Raises ValueError with a message
    for people on anything else: "abc", "4,50", or more digits than the currency has ("4.505" in USD)."""
    text = (text or "").strip()
    currency = currency.upper()
    digits = minor_digits(currency)
    example = format_amount(450 * 10 ** digits // 100 if digits >= 2 else 450, currency)
    if not _AMOUNT.fullmatch(text):
        return _refuse(f"Enter an amount like {example}.")
    whole, _, fraction = text.lstrip("-").partition(".")
    if len(fraction) > digits:
        if digits == 0:
            return _refuse(f"{currency} has no smaller units: enter a whole amount like {example}.")
        return _refuse(f"{currency} amounts have at most {digits} digits after the point, like {example}.")
    minor = int(whole) * 10 ** digits + int(fraction.ljust(digits, "0") or 0)
    return -minor if text.startswith("-") else minor


def _refuse(message: str) -> int:
    raise ValueError(message)

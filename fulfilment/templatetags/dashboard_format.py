"""How the manager dashboard says its figures to a person: "1 min 20 s", "+45 s late", "12 s early", "82%",
"$4.50 USD". The CSV and the charts' data keep plain numbers (fulfilment/dashboard_charts.py)."""

from django import template

from fulfilment.dashboard import dashboard_stores_for_user
from stores.money import format_money

register = template.Library()

DASH = "–"


def human_duration(seconds: float | None) -> str:
    """95 -> "1 min 35 s", 120 -> "2 min", 4000 -> "1 h 6 min", 0 -> "0 s"; None -> "–". Whole seconds."""
    if seconds is None:
        return DASH
    total = round(abs(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def human_promise_error(seconds: float | None) -> str:
    """Ready minus promised: 45 -> "+45 s late", -12 -> "12 s early", 0 -> "on the dot"; None -> "–"."""
    if seconds is None:
        return DASH
    if round(seconds) == 0:
        return "on the dot"
    return f"+{human_duration(seconds)} late" if seconds > 0 else f"{human_duration(seconds)} early"


def _number(value) -> float | None:
    """A figure as the template has it: a number, or None for none (a figure the template cannot find is "")."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


@register.filter
def duration(seconds):
    return human_duration(_number(seconds))


@register.filter
def promise_error(seconds):
    return human_promise_error(_number(seconds))


@register.filter
def percent(share):
    """0.824 -> "82%"; None -> "–"."""
    share = _number(share)
    return DASH if share is None else f"{share * 100:.0f}%"


@register.filter
def money(amount_minor, currency):
    return format_money(amount_minor, currency)


@register.simple_tag(takes_context=True)
def manages_stores(context) -> bool:
    """Whether the signed-in person has a dashboard to open (the admin's "Dashboard" link)."""
    request = context.get("request")
    return request is not None and dashboard_stores_for_user(user=request.user).exists()

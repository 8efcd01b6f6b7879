"""The manager dashboard page (/dashboard/) and its CSV export: thin views over fulfilment.dashboard.

Who: signed-in managers of at least one store (a superuser: every store); anyone else gets 403.
Which stores: all the person manages, or ?store=<id> among them. Which days (store-local):
today, or ?date=YYYY-MM-DD, or ?from=YYYY-MM-DD&to=YYYY-MM-DD (both days included), at most MAX_DAYS.
"""

import csv
import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from fulfilment import dashboard
from fulfilment.models import Channel
from orderahead.api_errors import json_error
from stores.money import format_money

MAX_DAYS = 92  # a quarter: the figures scan every order of the range


class BadQuery(ValueError):
    pass


def _parse_date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadQuery(f"{name} must be a date as YYYY-MM-DD, not {value[:40]!r}.") from None


def _scope(request):
    """(all stores the person may see, the chosen ones, start, end) or raises PermissionDenied / BadQuery."""
    allowed = list(dashboard.dashboard_stores_for_user(user=request.user))
    if not allowed:
        raise PermissionDenied("You manage no store.")
    chosen = allowed
    store_param = request.GET.get("store", "")
    if store_param:
        chosen = [store for store in allowed if str(store.pk) == store_param]
        if not chosen:
            # Another manager's store looks exactly like a missing one.
            raise BadQuery("store: not one of the stores you manage.")
    today = timezone.localtime(timezone.now(), chosen[0].tz).date()
    if "date" in request.GET:
        start = _parse_date(request.GET["date"], "date")
        end = start + dt.timedelta(days=1)
    elif "from" in request.GET or "to" in request.GET:
        start = _parse_date(request.GET.get("from", ""), "from")
        end = _parse_date(request.GET.get("to", ""), "to") + dt.timedelta(days=1)
        if end <= start:
            raise BadQuery("to must be on or after from.")
    else:
        start, end = today, today + dt.timedelta(days=1)
    if (end - start).days > MAX_DAYS:
        raise BadQuery(f"At most {MAX_DAYS} days at once.")
    return allowed, chosen, start, end


def _money_rows(rows: list[dict]) -> list[dict]:
    return [{**row, "sales": format_money(row["sales_minor"], row["currency"])} for row in rows]


@login_required
@require_GET
def dashboard_page(request):
    try:
        allowed, chosen, start, end = _scope(request)
    except BadQuery as error:
        return json_error("bad_query", str(error), 400)
    figures = dashboard.dashboard_figures(stores=chosen, start=start, end=end)
    channel_names = dict(Channel.choices)
    context = {
        "figures": figures, "stores": allowed, "chosen": chosen,
        "store_param": request.GET.get("store", ""), "last_day": end - dt.timedelta(days=1),
        "multi_day": (end - start).days > 1,
        "sales_by_channel": [{**row, "channel_name": channel_names.get(row["channel"], row["channel"])}
                             for row in _money_rows(figures.sales_by_channel)],
        "sales_by_bucket": _money_rows(figures.sales_by_bucket),
        "promise_by_channel": [(channel_names.get(key, key), stats)
                               for key, stats in figures.promise["by_channel"].items()],
        "refunds": [{**row, "amount": format_money(row["refunded_minor"], row["currency"])}
                    for row in figures.counts["refunds"]],
        "grace_seconds": dashboard.PROMISE_GRACE_SECONDS,
        "drift_percent": round(dashboard.PREP_DRIFT_SHARE * 100),
    }
    return render(request, "fulfilment/dashboard.html", context)


@login_required
@require_GET
def dashboard_orders_csv(request):
    try:
        _allowed, chosen, start, end = _scope(request)
    except BadQuery as error:
        return json_error("bad_query", str(error), 400)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    last_day = end - dt.timedelta(days=1)
    name = f"orders-{start}" + (f"-to-{last_day}" if last_day != start else "") + ".csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(["order", "store", "channel", "status", "currency", "subtotal_minor", "tax_minor",
                     "total_minor", "created_at", "promised_ready_at", "ready_at", "picked_up_at", "cancelled_at"])
    for row in dashboard.orders_for_export(stores=chosen, start=start, end=end).iterator(chunk_size=2000):
        writer.writerow([value.isoformat() if isinstance(value, dt.datetime) else value for value in row])
    return response

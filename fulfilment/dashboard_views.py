"""The manager dashboard page (/dashboard/) and its CSV export: thin views over fulfilment.dashboard.

Who: signed-in managers of at least one store (a superuser: every store); anyone else gets 403.
Which stores: all the person manages, or ?store=<id> among them. Which days (store-local):
today, or ?date=YYYY-MM-DD, or ?from=YYYY-MM-DD&to=YYYY-MM-DD (both days included), at most MAX_DAYS.
/dashboard/chart.csv?chart=<name> gives one chart's data for the same stores and days (fulfilment.dashboard_charts).
The page's live updates: kitchen_display's DashboardConsumer says "changed", the page fetches ?partial=1.
"""

import csv
import datetime as dt
from collections import defaultdict
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from fulfilment import dashboard, dashboard_charts
from fulfilment.models import Channel
from fulfilment.templatetags.dashboard_format import human_promise_error
from orderahead.api_errors import json_error
from stores.money import format_money, minor_digits

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


def _sales_tiles(figures) -> list[dict]:
    """Sales per currency (a chain may sell in more than one) with the average order."""
    by_currency: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in figures.sales_by_channel:
        by_currency[row["currency"]][0] += row["orders"]
        by_currency[row["currency"]][1] += row["sales_minor"]
    return [{"currency": currency, "amount": format_money(sales, currency).rpartition(" ")[0],
             "average": format_money(round(sales / orders), currency) if orders else None}
            for currency, (orders, sales) in sorted(by_currency.items())]


def _in_two_parts(words: str) -> tuple[str, str]:
    """ "+1 min 2 s late" -> ("+1 min 2 s", "late"), "12 s early" -> ("−12 s", "early"): a tile shows the signed
    figure large and says its sense below it."""
    head, _, tail = words.rpartition(" ")
    if tail == "late":
        return head, tail
    if tail == "early":
        return f"−{head}", tail
    return words, ""


def _loyalty_card(figures, chosen, channel_names: dict) -> dict:
    """The Loyalty card's figures, money in the shown stores' currency (rewards are the chain's and have none)."""
    loyalty = figures.loyalty
    currency = chosen[0].currency
    star = loyalty["star"]
    return {**loyalty, "currency": currency,
            "by_channel": [{**row, "channel_name": channel_names.get(row["channel"], row["channel"])}
                           for row in loyalty["by_channel"]],
            # Every day of the range has a row; the chart is drawn once one of them holds something.
            "any_by_day": any(value for row in loyalty["by_day"] for key, value in row.items() if key != "day"),
            "liability": (format_money(loyalty["liability_minor"], currency)
                          if loyalty["liability_minor"] is not None else None),
            "star_reward": star and {"name": star["name"], "stars_cost": star["stars_cost"],
                                     "max_value": format_money(star["max_value_minor"], currency)}}


def _is_live(chosen, start: dt.date, end: dt.date, now: dt.datetime) -> bool:
    """The range holds today of at least one shown store: the figures still move."""
    return any(start <= timezone.localtime(now, store.tz).date() < end for store in chosen)


def _page_context(request, allowed, chosen, start, end, figures) -> dict:
    channel_names = dict(Channel.choices)
    now = timezone.now()
    return {
        "figures": figures, "stores": allowed, "chosen": chosen,
        "store_param": request.GET.get("store", ""), "last_day": end - dt.timedelta(days=1),
        "multi_day": (end - start).days > 1,
        "orders": sum(row["orders"] for row in figures.sales_by_channel),
        "sales": _sales_tiles(figures),
        "p90_error": _in_two_parts(human_promise_error(figures.promise["overall"].p90)),
        "live": _is_live(chosen, start, end, now),
        # Store-local, like every time on the page (the first shown store's zone when several are shown).
        "updated_at": timezone.localtime(now, chosen[0].tz).strftime("%H:%M:%S"),
        "sales_by_channel": [{**row, "channel_name": channel_names.get(row["channel"], row["channel"])}
                             for row in _money_rows(figures.sales_by_channel)],
        "sales_by_bucket": _money_rows(figures.sales_by_bucket),
        "promise_by_channel": [(channel_names.get(key, key), stats)
                               for key, stats in figures.promise["by_channel"].items()],
        "in_store_wait_by_channel": [(channel_names.get(key, key), stats)
                                     for key, stats in figures.in_store_wait["by_channel"].items()],
        "refunds": [{**row, "amount": format_money(row["refunded_minor"], row["currency"])}
                    for row in figures.counts["refunds"]],
        "loyalty": _loyalty_card(figures, chosen, channel_names),
        "grace_seconds": dashboard.PROMISE_GRACE_SECONDS,
        "drift_percent": round(dashboard.PREP_DRIFT_SHARE * 100),
        "charts": dashboard_charts.chart_tables(figures, channel_names=channel_names),
        "scope_query": _scope_query(request, start, end),
        "chart_meta": {"multi_day": (end - start).days > 1, "multi_store": len(chosen) > 1,
                       "digits": {row["currency"]: minor_digits(row["currency"]) for row in figures.sales_by_channel}},
    }


def _scope_query(request, start: dt.date, end: dt.date) -> str:
    """The query string that names this page's stores and days, for the CSV links and the live refresh."""
    params = {"from": start.isoformat(), "to": (end - dt.timedelta(days=1)).isoformat()}
    if request.GET.get("store"):
        params["store"] = request.GET["store"]
    return urlencode(params)


@login_required
@require_GET
def dashboard_page(request):
    """The page; with ?partial=1 only its main part (figures, tables, chart data), which the live page swaps in."""
    try:
        allowed, chosen, start, end = _scope(request)
    except BadQuery as error:
        return json_error("bad_query", str(error), 400)
    figures = dashboard.dashboard_figures(stores=chosen, start=start, end=end)
    context = _page_context(request, allowed, chosen, start, end, figures)
    template = "fulfilment/dashboard_main.html" if request.GET.get("partial") else "fulfilment/dashboard.html"
    return render(request, template, context)


@login_required
@require_GET
def dashboard_chart_csv(request):
    """One chart's data (?chart=<name> and the page's own store and day parameters) as CSV."""
    try:
        _allowed, chosen, start, end = _scope(request)
        name = request.GET.get("chart", "")
        dashboard_charts.check_chart_name(name)
    except (BadQuery, dashboard_charts.UnknownChart) as error:
        return json_error("bad_query", str(error), 400)
    figures = dashboard.dashboard_figures(stores=chosen, start=start, end=end)
    table = dashboard_charts.chart_table(figures, name, channel_names=dict(Channel.choices))
    return _csv_download(name, start, end, table.columns, table.rows)


def _csv_download(what: str, start: dt.date, end: dt.date, header: list, rows) -> HttpResponse:
    """A CSV attachment named after what it holds and its days ("orders-2026-03-10-to-2026-03-12.csv")."""
    last_day = end - dt.timedelta(days=1)
    name = f"{what}-{start}" + (f"-to-{last_day}" if last_day != start else "") + ".csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


@login_required
@require_GET
def dashboard_orders_csv(request):
    try:
        _allowed, chosen, start, end = _scope(request)
    except BadQuery as error:
        return json_error("bad_query", str(error), 400)
    rows = dashboard.orders_for_export(stores=chosen, start=start, end=end).iterator(chunk_size=2000)
    return _csv_download("orders", start, end,
                         ["order", "store", "channel", "status", "currency", "subtotal_minor", "tax_minor",
                          "total_minor", "created_at", "promised_ready_at", "ready_at", "picked_up_at",
                          "cancelled_at"],
                         ([value.isoformat() if isinstance(value, dt.datetime) else value for value in row]
                          for row in rows))

"""The dashboard's charts as tables of plain values, built from DashboardFigures by ONE function (`chart_table`).

The page hands every table to its charts (json_script, drawn by static/dashboard/dashboard.js) and
/dashboard/chart.csv writes one of them, so a chart and its CSV always hold the same numbers. Values are
plain: local wall-clock times as "YYYY-MM-DDTHH:MM" and local days as "YYYY-MM-DD" (the stores' own time),
durations in whole seconds, shares as percentages to one decimal, money in integer minor units beside its
currency. The page's HTML tables show the same figures for a person (human durations, formatted money).
"""

import datetime as dt
from dataclasses import dataclass

from fulfilment.dashboard import DashboardFigures


@dataclass
class ChartTable:
    name: str
    columns: list[str]
    rows: list[list]

    def as_json(self) -> dict:
        return {"columns": self.columns, "rows": self.rows}


def _local(value: dt.datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M")


def _whole(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds)


def _orders_by_quarter(figures: DashboardFigures, channel_names: dict) -> ChartTable:
    return ChartTable("orders_by_quarter", ["bucket", "currency", "orders", "sales_minor"],
                      [[_local(row["bucket"]), row["currency"], row["orders"], row["sales_minor"]]
                       for row in figures.sales_by_bucket])


def _orders_by_channel(figures: DashboardFigures, channel_names: dict) -> ChartTable:
    return ChartTable("orders_by_channel", ["channel", "channel_name", "currency", "orders", "sales_minor"],
                      [[row["channel"], channel_names.get(row["channel"], row["channel"]), row["currency"],
                        row["orders"], row["sales_minor"]] for row in figures.sales_by_channel])


def _promise_by_hour(figures: DashboardFigures, channel_names: dict) -> ChartTable:
    rows = []
    for hour, stats in figures.promise.get("by_hour", {}).items():
        share = stats.on_time_share
        rows.append([_local(hour), stats.count, stats.on_time, None if share is None else round(share * 100, 1),
                     _whole(stats.p50), _whole(stats.p90), _whole(stats.min), _whole(stats.max)])
    return ChartTable("promise_by_hour", ["hour", "ready", "on_time", "on_time_percent", "p50_seconds",
                                          "p90_seconds", "earliest_seconds", "latest_seconds"], rows)


def _slot_load(figures: DashboardFigures, channel_names: dict) -> ChartTable:
    return ChartTable("slot_load", ["store", "slot", "orders", "capacity", "full"],
                      [[row["store"], _local(row["slot"]), row["orders"], row["capacity"], bool(row["full"])]
                       for row in figures.slot_load])


def _station_times(figures: DashboardFigures, channel_names: dict) -> ChartTable:
    return ChartTable("station_times", ["store", "station", "lines", "p50_seconds", "p90_seconds"],
                      [[row["store"], row["station"], row["stats"].count, _whole(row["stats"].p50),
                        _whole(row["stats"].p90)] for row in figures.stations])


def _member_share(figures: DashboardFigures, channel_names: dict) -> ChartTable:
    """The Loyalty card's members' share of sold orders per channel (loyalty_figures' by_channel, no query)."""
    rows = []
    for row in figures.loyalty.get("by_channel", []):
        share = row["share"]
        rows.append([row["channel"], channel_names.get(row["channel"], row["channel"]), row["orders"],
                     row["member_orders"], None if share is None else round(share * 100, 1)])
    return ChartTable("member_share", ["channel", "channel_name", "orders", "member_orders", "share_percent"], rows)


def _stars_by_day(figures: DashboardFigures, channel_names: dict) -> ChartTable:
    """Stars by store-local day, every day of the range (quiet days as zeros), all counts positive."""
    return ChartTable("stars_by_day", ["day", "earned", "reversed", "redeemed", "given_back", "members"],
                      [[row["day"].isoformat(), row["earned"], row["reversed"], row["redeemed"], row["given_back"],
                        row["members"]] for row in figures.loyalty.get("by_day", [])])


CHARTS = {
    "orders_by_quarter": _orders_by_quarter,
    "orders_by_channel": _orders_by_channel,
    "promise_by_hour": _promise_by_hour,
    "slot_load": _slot_load,
    "station_times": _station_times,
    "member_share": _member_share,
    "stars_by_day": _stars_by_day,
}


class UnknownChart(ValueError):
    pass


def check_chart_name(name: str) -> None:
    """UnknownChart unless `name` is one of CHARTS (checked before any figure is computed)."""
    if name not in CHARTS:
        raise UnknownChart(f"chart must be one of {', '.join(CHARTS)}, not {name[:40]!r}.")


def chart_table(figures: DashboardFigures, name: str, *, channel_names: dict) -> ChartTable:
    """The rows of chart `name` (one of CHARTS); UnknownChart for any other name."""
    check_chart_name(name)
    return CHARTS[name](figures, channel_names)


def chart_tables(figures: DashboardFigures, *, channel_names: dict) -> dict[str, dict]:
    """Every chart's table, for the page's json_script."""
    return {name: chart_table(figures, name, channel_names=channel_names).as_json() for name in CHARTS}

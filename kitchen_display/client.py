"""A kitchen screen's state as kds.js keeps it, in Python: for the tests and the benchmark.

`Board` applies what the server sends exactly as the browser does (a snapshot, then events in number
order, a gap answered by a "sync" request), counting gaps and duplicates, so a test can compare what a
screen would show with the database (`outbox_snapshot`).
"""

from dataclasses import dataclass, field

SCREEN_STATUSES = {"confirmed", "in_progress", "ready"}


@dataclass
class Board:
    seq: int | None = None
    tickets: dict[int, dict] = field(default_factory=dict)
    out: dict[int, dict] = field(default_factory=dict)
    applied: list[int] = field(default_factory=list)   # every event number applied, in order
    duplicates: int = 0                                  # events received again (ignored)
    gaps: int = 0                                        # times a number was missing

    def receive(self, message: dict) -> dict | None:
        """Apply one server message; returns the request to send back when a number was missing."""
        if message["type"] == "snapshot":
            self.seq = message["seq"]
            self.tickets = {t["id"]: t for t in message["tickets"] if t["status"] in SCREEN_STATUSES}
            self.out = {item["id"]: item for item in message["eighty_sixed"]}
            return None
        if message["type"] != "events":
            return None
        for event in message["events"]:
            if self.seq is not None and event["seq"] <= self.seq:
                self.duplicates += 1
                continue
            if self.seq is None or event["seq"] != self.seq + 1:
                self.gaps += 1
                if self.seq is None:
                    return {"action": "snapshot"}
                return {"action": "sync", "since": self.seq, "gap": True}
            self.apply(event)
            self.seq = event["seq"]
            self.applied.append(event["seq"])
        return None

    def apply(self, event: dict) -> None:
        kind = event["kind"]
        if kind.startswith("order."):
            ticket = event["ticket"]
            if ticket["status"] in SCREEN_STATUSES:
                self.tickets[ticket["id"]] = ticket
            else:
                self.tickets.pop(ticket["id"], None)
        elif kind == "plan":
            for line_id, order_id, lane, start, finish in event["lines"]:
                for line in self.tickets.get(order_id, {}).get("lines", ()):
                    if line["id"] == line_id:
                        line.update(lane=lane, planned_start_at=start, planned_finish_at=finish)
            for order_id, at in event["ready"]:
                if order_id in self.tickets:
                    self.tickets[order_id]["estimated_ready_at"] = at
        elif kind == "menu.item":
            item = event["item"]
            if item["eighty_sixed"]:
                self.out[item["id"]] = item
            else:
                self.out.pop(item["id"], None)

    def as_snapshot(self) -> dict:
        """The board in the shape of `outbox_snapshot`, to compare with the database."""
        return {"seq": self.seq, "tickets": [self.tickets[k] for k in sorted(self.tickets)],
                "eighty_sixed": sorted(self.out.values(), key=lambda item: item["name"])}

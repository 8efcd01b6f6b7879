"""A kitchen screen's state as kds.js keeps it, in Python, for the tests.

`Board` applies what the server sends exactly as the browser does (a snapshot, then events in number
order, a gap answered by a "sync" request), counting gaps and duplicates, so a test can compare what a
screen would show with the database (`outbox_snapshot`).
"""

from dataclasses import dataclass, field

from fulfilment.presenters import plan_time

SCREEN_STATUSES = {"confirmed", "in_progress", "ready"}


@dataclass
class Board:
    seq: int | None = None
    tickets: dict[int, dict] = field(default_factory=dict)
    out: dict[int, dict] = field(default_factory=dict)
    options_out: dict[int, dict] = field(default_factory=dict)  # modifier options marked 86
    applied: list[int] = field(default_factory=list)   # every event number applied, in order
    duplicates: int = 0                                  # events received again (ignored)
    gaps: int = 0                                        # times a number was missing
    snapshots: int = 0                                   # whole snapshots taken
    pending: dict | None = None                          # a snapshot whose last part has not come yet

    def receive(self, message: dict) -> dict | None:
        """Apply one server message; returns the request to send back when a number was missing."""
        if message["type"] == "snapshot":
            self.pending = {"seq": message["seq"], "tickets": list(message["tickets"]),
                            "eighty_sixed": message["eighty_sixed"], "options_out": message.get("options_out", [])}
        elif message["type"] == "snapshot.more" and self.pending and self.pending["seq"] == message["seq"]:
            self.pending["tickets"] += message["tickets"]
        if message["type"] in ("snapshot", "snapshot.more"):
            if self.pending and not message.get("more"):  # the last part: the screen shows it now
                snapshot, self.pending = self.pending, None
                self.seq = snapshot["seq"]
                self.tickets = {t["id"]: t for t in snapshot["tickets"] if t["status"] in SCREEN_STATUSES}
                self.out = {item["id"]: item for item in snapshot["eighty_sixed"]}
                self.options_out = {option["id"]: option for option in snapshot["options_out"]}
                self.snapshots += 1
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
            t0 = event.get("t0")  # times are seconds after it (an event from before t0 has them as text)
            when = (lambda offset: plan_time(t0, offset)) if t0 else (lambda text: text)
            for line_id, order_id, lane, start, finish in event["lines"]:
                for line in self.tickets.get(order_id, {}).get("lines", ()):
                    if line["id"] == line_id:
                        line.update(lane=lane, planned_start_at=when(start), planned_finish_at=when(finish))
            for order_id, at in event["ready"]:
                if order_id in self.tickets:
                    self.tickets[order_id]["estimated_ready_at"] = when(at)
        elif kind == "menu.item":
            item = event["item"]
            if item["eighty_sixed"]:
                self.out[item["id"]] = item
            else:
                self.out.pop(item["id"], None)
        elif kind == "menu.option":
            option = event["option"]
            if option["available"]:
                self.options_out.pop(option["id"], None)
            else:
                self.options_out[option["id"]] = option

    def as_snapshot(self) -> dict:
        """The board in the shape of `outbox_snapshot`, to compare with the database."""
        return {"seq": self.seq, "tickets": [self.tickets[k] for k in sorted(self.tickets)],
                "eighty_sixed": sorted(self.out.values(), key=lambda item: item["name"]),
                "options_out": [self.options_out[k] for k in sorted(self.options_out)]}

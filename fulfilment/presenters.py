"""The shapes an order takes on its way out: the tickets the kitchen screens get, what the public
order-ready board may see of them, the customer's payment block and what the browser's payment form needs.

Plain functions from models to JSON-ready dicts; nothing here reads more than the order it is given (and
its lines), nothing writes. The outbox (`fulfilment.services.outbox`) writes these shapes into its events;
the API's serializers put the payment block on an order.

The event kinds live here, not in the outbox, because they name the shapes an event carries (the comment
beside each says what) and the public board's shape depends on the kind; the outbox and every writer of
events import them from here, and this module imports nothing of the outbox.

Planned times (a line's lane, start and finish, an order's expected ready time) reach the screens to the
whole second (`plan_iso`): a screen shows minutes and seconds and sorts by them. A plan event carries them
as offsets in whole seconds after its `t0` (`plan_offset` writes one, `plan_time` reads it back).

The order-ready board is a public screen: it gets `public_ticket`/`public_event`, which name the customer
as `public_name` does (first name and last initial, never the account's username or e-mail) and carry
no pickup code, since the short code and the name together hand an order over.
"""

import datetime as dt

from django.core.exceptions import ObjectDoesNotExist

from fulfilment.channels import policy
from fulfilment.models import Order, OrderLine, OrderStatus, PaymentStatus
from fulfilment.payment_gateways import gateway as intents
from fulfilment.pickup_codes import pickup_code
from stores.models import MenuItem, ModifierOption

# --- Event kinds, and what each event's payload carries ---------------------------------------------------

ORDER_CREATED = "order.created"    # payload: ticket
ORDER_CHANGED = "order.changed"    # a state change; payload: ticket, from, to
ORDER_LINES = "order.lines"        # items started, bumped or recalled; payload: ticket, action
ORDER_DELAYED = "order.delayed"    # payload: ticket, minutes
ORDER_ARRIVAL = "order.arrival"    # the customer said "on my way" or "I'm here"; payload: ticket, arrival
PLAN = "plan"                      # a re-plan; payload: t0, lines [[line, order, lane, start, finish]],
#                                    ready [[order, at]]; start, finish, at: whole seconds after t0, or null
MENU_ITEM = "menu.item"            # an item marked 86 or back; payload: item {id, name, station, eighty_sixed}
MENU_OPTION = "menu.option"        # a modifier option marked 86 or back; payload: option {id, name, group,
#                                    group_name, available}


# --- Times -------------------------------------------------------------------------------------------------

def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def plan_iso(value: dt.datetime | None) -> str | None:
    """A planned time as the screens get it: UTC, to the whole second."""
    return value.astimezone(dt.UTC).replace(microsecond=0).isoformat() if value else None


def plan_offset(value: dt.datetime | None, t0: dt.datetime) -> int | None:
    """A planned time as a plan event carries it: whole seconds after the event's `t0`."""
    return None if value is None else int((value.astimezone(dt.UTC).replace(microsecond=0) - t0).total_seconds())


def plan_time(t0: str, offset: int | None) -> str | None:
    """A planned time of a plan event: `offset` whole seconds after its `t0`, as `plan_iso` writes it."""
    return None if offset is None else (dt.datetime.fromisoformat(t0) + dt.timedelta(seconds=offset)).isoformat()


# --- The shapes kitchen screens get ------------------------------------------------------------------------

def public_name(order: Order) -> str:
    """What a public screen may call the customer: the name they gave, shortened to the first name and
    the last initial ("Dana Kowalski" -> "Dana K."); for an account whose order carries its username
    (or e-mail), the account's first name and last initial; never a username or an e-mail address."""
    given = " ".join(order.customer_name.split())
    if order.customer_id:
        user = order.customer
        login = {str(user.get_username()).casefold(), str(getattr(user, "email", "") or "").casefold()}
        if not given or given.casefold() in login:
            given = " ".join(f"{getattr(user, 'first_name', '')} {getattr(user, 'last_name', '')}".split())
    words = [word for word in given.split() if "@" not in word]
    if not words:
        return ""
    first = words[0][:20]
    return f"{first} {words[-1][0].upper()}." if len(words) > 1 else first


def line_ticket(line: OrderLine) -> dict:
    return {"id": line.pk, "item": line.item_id, "name": line.item_name, "quantity": line.quantity,
            "modifiers": [{"group": m.get("group", ""), "option": m.get("option", "")} for m in line.modifiers or []],
            "station": line.station_id, "lane": line.planned_lane,
            "planned_start_at": plan_iso(line.planned_start_at),
            "planned_finish_at": plan_iso(line.planned_finish_at),
            "started_at": iso(line.started_at), "done_at": iso(line.done_at)}


def order_ticket(order: Order, lines: list[OrderLine] | None = None) -> dict:
    """An order as the kitchen screens show it. `lines` defaults to the order's lines in id order."""
    if lines is None:
        lines = list(order.lines.order_by("id"))
    return {"id": order.pk, "code": pickup_code(order=order), "name": order.customer_name,
            "public_name": public_name(order),
            "channel": order.channel, "status": order.status, "pickup_kind": order.pickup_kind,
            "promised_ready_at": iso(order.promised_ready_at),
            "estimated_ready_at": plan_iso(order.estimated_ready_at),
            "created_at": iso(order.created_at), "confirmed_at": iso(order.confirmed_at),
            "ready_at": iso(order.ready_at), "fire_on_arrival": order.fire_on_arrival,
            "payment_due": order.awaiting_till_payment,  # take the money before handing it over
            "customer_eta_at": plan_iso(order.customer_eta_at), "arrived_at": iso(order.arrived_at),
            "lines": [line_ticket(line) for line in lines]}


def item_message(item: MenuItem) -> dict:
    return {"id": item.pk, "name": item.name, "station": item.station_id, "eighty_sixed": item.eighty_sixed}


def option_message(option: ModifierOption) -> dict:
    """A modifier option as the screens and the menu socket get it (`option.group` is read: select it)."""
    return {"id": option.pk, "name": option.name, "group": option.group_id, "group_name": option.group.name,
            "available": option.is_available}


# --- The shapes the public order-ready board gets ----------------------------------------------------------

def public_ticket(ticket: dict) -> dict:
    """A ticket as the public order-ready board gets it: who (`public_name`), the state and what orders
    it by; no pickup code, no account name, no items."""
    return {"id": ticket["id"], "name": ticket.get("public_name", ""), "status": ticket["status"],
            "pickup_kind": ticket["pickup_kind"], "promised_ready_at": ticket["promised_ready_at"],
            # a held make-when-I-arrive order is not "being made" yet: the board, like the kitchen, waits for
            # its planned start (whether the customer said they are here stays off this public screen)
            "fire_on_arrival": ticket.get("fire_on_arrival", False),
            "confirmed_at": ticket["confirmed_at"], "created_at": ticket["created_at"],
            "ready_at": ticket["ready_at"], "estimated_ready_at": ticket["estimated_ready_at"],
            "lines": [{"id": line["id"], "station": line["station"], "lane": line["lane"],
                       "planned_start_at": line["planned_start_at"], "planned_finish_at": line["planned_finish_at"],
                       "started_at": line["started_at"], "done_at": line["done_at"]} for line in ticket["lines"]]}


def public_event(event: dict) -> dict:
    """An event as the public board gets it: its number and kind, public tickets, the plan; not who did it."""
    public = {"store": event["store"], "seq": event["seq"], "kind": event["kind"], "at": event["at"],
              "order": event["order"]}
    if "ticket" in event:
        public["ticket"] = public_ticket(event["ticket"])
    if event["kind"] == PLAN:
        public.update(t0=event.get("t0"), lines=event["lines"], ready=event["ready"])
    elif event["kind"] == MENU_ITEM:
        public["item"] = event["item"]
    elif event["kind"] == MENU_OPTION:
        public["option"] = event["option"]
    return public


def public_snapshot(snapshot: dict) -> dict:
    return {**snapshot, "tickets": [public_ticket(ticket) for ticket in snapshot["tickets"]]}


# --- The customer's payment block ---------------------------------------------------------------------------

def payment_summary(order: Order) -> dict:
    """The order's payment as its customer sees it (`serializers.PaymentSummaryOut`): who took it, where it
    stands and a sentence saying so. An order paid at the till has no payment row and reads as
    "paid_in_store", a status of this block only; a mobile order without one yet is still pending."""
    try:
        payment = order.payment
    except ObjectDoesNotExist:
        payment = None
    if payment is None and order.total_minor == 0 and order.status != OrderStatus.PENDING_PAYMENT:
        # a reward covered the whole order: confirmed without a card (fulfilment.services.rewards)
        return {"provider": "", "demo": False, "status": "nothing_to_pay", "status_label": "Nothing to pay",
                "amount_minor": 0, "captured_minor": 0, "refunded_minor": 0, "currency": order.currency,
                "requires_action": False, "message": "Your reward covered the whole order."}
    if payment is None and order.awaiting_till_payment:  # placed to be paid when collected (payments.till)
        return {"provider": "in_store", "demo": False, "status": "due_in_store",
                "status_label": "To pay when collected", "amount_minor": order.total_minor, "captured_minor": 0, "refunded_minor": 0,
                "currency": order.currency, "requires_action": False,
                "message": "Pay at the window or the counter when you collect it."}
    if payment is None:
        in_store = not policy(order.channel).paid_in_app  # paid at the till: it never has a card payment
        return {"provider": "in_store" if in_store else "", "demo": False,
                "status": "paid_in_store" if in_store else PaymentStatus.PENDING.value,
                "status_label": "Paid at the till" if in_store else PaymentStatus.PENDING.label,
                "amount_minor": order.total_minor if in_store else 0, "captured_minor": 0, "refunded_minor": 0,
                "currency": order.currency, "requires_action": False, "message": ""}
    if payment.is_demo:
        message = "Demo payment: no card was charged."
    elif payment.status == PaymentStatus.AUTHORISED:
        message = "Held on your card; charged when you pick up."
    elif payment.status == PaymentStatus.CAPTURED:
        message = "Charged." if not payment.refunded_minor else "Charged, partly or fully refunded."
    elif payment.status == PaymentStatus.CANCELLED:
        message = "The hold on your card was released; nothing was charged."
    elif payment.status == PaymentStatus.FAILED:
        message = payment.last_error or "The payment failed."
    else:
        message = "Waiting for your payment."
    return {"provider": payment.provider, "demo": payment.is_demo, "status": payment.status,
            "status_label": payment.get_status_display(), "amount_minor": payment.amount_minor,
            "captured_minor": payment.captured_minor, "refunded_minor": payment.refunded_minor,
            "currency": payment.currency, "requires_action": payment.intent_status == intents.REQUIRES_ACTION,
            "message": message}


def payment_checkout(order: Order) -> dict:
    """The payment block plus what the browser's payment form needs to confirm a payment still waiting
    (`serializers.OrderPaymentOut`): the intent's client secret and the provider's publishable key."""
    try:
        payment = order.payment
    except ObjectDoesNotExist:
        payment = None
    waiting = payment is not None and payment.status == PaymentStatus.PENDING
    gateway = intents.get_gateway(payment.provider) if payment else intents.get_gateway()
    return {**payment_summary(order), "order": order.pk, "client_secret": payment.client_secret if waiting else "",
            "publishable_key": gateway.publishable_key}

"""A customer's own data (issue 28): everything kept about them as one download, and deleting their account.

Deleting keeps the orders for the store's books (sales, tax, refunds and the kitchen's history all still
count them) but leaves nothing in them that points at the person: the account link, the name called out
at handoff, the request fingerprint and idempotency scope that named the account, what the customer said
about their arrival, the address a ready email went to and the card-payment ids that reach the customer's
card. The stars balance is closed by one ledger row (kind CLOSE, key "close:member:<id>"), so the chain's
liability for it is gone and the ledger still sums to every balance; the ledger rows themselves stay, their
member emptied by the foreign key's SET_NULL. Favourites, push subscriptions, the profile (consents, phone,
birthday), API tokens and the user row go.

Staff accounts (is_staff, superusers, anyone with a store membership) are not deleted this way: they place
and hand over other people's orders, and an admin decides what happens to those records.
"""

import datetime as dt

from django.apps import apps
from django.db import transaction
from django.db.models import Prefetch, ProtectedError
from django.utils import timezone
from rest_framework.authtoken.models import Token

from fulfilment.models import (
    OPEN_STATUSES,
    CustomerProfile,
    Favourite,
    LoyaltyEntry,
    MemberCodeUse,
    Order,
    OrderDiscount,
    OrderEvent,
    OrderLine,
    OrderNotification,
    Payment,
    PushSubscription,
    StoreEvent,
)
from fulfilment.services import loyalty
from orderahead.errors import Conflict, DomainError
from orderahead.logs import get_logger

log = get_logger(__name__)

EXPORT_FORMAT = 1
DELETED_NAME = ""  # what an anonymised order calls its customer: nothing (admin shows it as a walk-in's)

# OrderEvent.data keys that say how the order moved and nothing about the person (see the writers:
# orders.order_place, lifecycle.order_transition, pickup, scheduling, payments.settle). Every other key is
# dropped from an anonymised order's events, so a key added later is not kept by accident; an arrival
# event's data (when the customer said they would come, that they were here) is dropped whole.
EVENT_DATA_KEPT = {"channel", "promised_ready_at", "from", "to", "reason", "recall", "handoff", "no_show",
                   "payment", "minutes", "station", "line", "action", "amount_minor"}


# --- Download ------------------------------------------------------------------------------------------------

def member_data_export(*, member, now: dt.datetime | None = None) -> dict:
    """Everything kept about `member`, as JSON-ready data: the account, the profile, every order of every
    channel (lines, discounts, its history), the stars ledger, favourites, push subscriptions (endpoints
    only: the keys are the browser's secret), notifications sent and member codes scanned."""
    profile = CustomerProfile.objects.filter(user=member).first()
    orders = (Order.objects.filter(customer=member).select_related("store")
              .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("id")),
                                Prefetch("discounts", queryset=OrderDiscount.objects.order_by("id")),
                                Prefetch("events", queryset=OrderEvent.objects.order_by("at", "id")),
                                Prefetch("notifications", queryset=OrderNotification.objects.order_by("id")))
              .order_by("-created_at", "-id"))
    orders = list(orders)
    return {
        "format": EXPORT_FORMAT,
        "exported_at": _iso(now or timezone.now()),
        "account": {"username": member.get_username(), "email": member.email,
                    "first_name": member.first_name, "last_name": member.last_name,
                    "date_joined": _iso(member.date_joined), "last_login": _iso(member.last_login)},
        "profile": {"email_when_ready": bool(profile and profile.email_when_ready),
                    "phone": profile.phone if profile else None,
                    "birthday": profile.birthday.isoformat() if profile and profile.birthday else None},
        "orders": [_order_export(order) for order in orders],
        "loyalty": {
            "balance": loyalty.member_balance(member=member),
            "ledger": [{"kind": e.kind, "kind_label": e.get_kind_display(), "stars": e.stars, "reason": e.reason,
                        "at": _iso(e.created_at), "order": e.order_id, "expires_at": _iso(e.expires_at)}
                       for e in LoyaltyEntry.objects.filter(member=member).order_by("created_at", "id")],
        },
        "favourites": [{"store": f.item.store.name, "item": f.item.name, "option_ids": f.option_ids,
                        "quantity": f.quantity, "created_at": _iso(f.created_at)}
                       for f in Favourite.objects.filter(user=member).select_related("item__store")],
        "push_subscriptions": [{"endpoint": s.endpoint, "created_at": _iso(s.created_at)}
                               for s in PushSubscription.objects.filter(user=member).order_by("id")],
        "notifications": [{"order": n.order_id, "channel": n.channel, "kind": n.kind, "status": n.status,
                           "detail": n.detail, "at": _iso(n.created_at)}
                          for order in orders for n in order.notifications.all()],
        "member_code_scans": [{"store": use.store.name, "order": use.order_id, "at": _iso(use.used_at)}
                              for use in MemberCodeUse.objects.filter(member=member).select_related("store")
                              .order_by("used_at", "id")],
    }


def _order_export(order: Order) -> dict:
    return {
        "id": order.pk, "store": order.store.name, "channel": order.channel,
        "channel_label": order.get_channel_display(), "status": order.status, "customer_name": order.customer_name,
        "created_at": _iso(order.created_at), "picked_up_at": _iso(order.picked_up_at),
        "cancelled_at": _iso(order.cancelled_at), "cancel_reason": order.cancel_reason,
        "customer_eta_at": _iso(order.customer_eta_at), "arrived_at": _iso(order.arrived_at),
        "currency": order.currency, "subtotal_minor": order.subtotal_minor, "discount_minor": order.discount_minor,
        "tax_minor": order.tax_minor, "total_minor": order.total_minor,
        "lines": [{"item": line.item_name, "quantity": line.quantity,
                   "options": [m.get("option", "") for m in line.modifiers or []],
                   "unit_price_minor": line.unit_price_minor, "line_total_minor": line.line_total_minor}
                  for line in order.lines.all()],
        "discounts": [{"label": d.label, "amount_minor": d.amount_minor, "line": d.line_id}
                      for d in order.discounts.all()],
        "history": [{"kind": e.kind, "from": e.from_status, "to": e.to_status, "at": _iso(e.at)}
                    for e in order.events.all()],
    }


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


# --- Deletion ------------------------------------------------------------------------------------------------

def member_is_staff(member) -> bool:
    return bool(member.is_staff or member.is_superuser or member.store_memberships.exists())


def member_account_delete(*, member, password: str, now: dt.datetime | None = None) -> dict:
    """Delete `member`'s account after checking their password again; returns what was done (counts).

    Refused (nothing changes) for a wrong password (403), a staff account (409) and a member with an
    order still open (409): an order being paid for, made or waiting on the shelf needs its customer."""
    if not password or not member.check_password(password):
        raise DomainError("That password is not right; your account was not deleted.", code="wrong_password",
                          status=403, fields={"password": "wrong"})
    if member_is_staff(member):
        raise Conflict("Staff accounts cannot be deleted from the app: ask an admin.", code="staff_account")
    now = now or timezone.now()
    User = type(member)
    with transaction.atomic():
        # The user row first: an order placed for them meanwhile waits on it (its foreign key) and then
        # fails, instead of slipping in after the check below.
        User.objects.select_for_update().get(pk=member.pk)
        open_orders = list(Order.objects.filter(customer=member, status__in=OPEN_STATUSES)
                           .order_by("id").values_list("pk", flat=True))
        if open_orders:
            raise Conflict("Finish or cancel your open orders first: "
                           + ", ".join(f"#{pk}" for pk in open_orders)
                           + (" is" if len(open_orders) == 1 else " are") + " not picked up or cancelled yet.",
                           code="open_orders", fields={"orders": open_orders})
        closed = _balance_close(member=member, now=now)
        orders = _orders_anonymise(member=member)
        removed = {
            "favourites": Favourite.objects.filter(user=member).delete()[0],
            "push_subscriptions": PushSubscription.objects.filter(user=member).delete()[0],
            "profiles": CustomerProfile.objects.filter(user=member).delete()[0],
            "tokens": Token.objects.filter(user=member).delete()[0],
            "login_records": _login_records_delete(username=member.get_username()),
        }
        member_id = member.pk
        try:
            member.delete()  # the ledger's member, events' and refunds' actor: SET_NULL; member codes: CASCADE
        except ProtectedError:  # a former staff member's orders placed for others (Order.placed_by) hold it
            raise Conflict("This account is in the stores' records (orders it placed for others): ask an admin "
                           "to delete it.", code="account_in_records") from None
    log.info("account_deleted", member_id=member_id, orders_anonymised=orders, stars_closed=closed)
    return {"orders_anonymised": orders, "stars_closed": closed, **removed}


def _balance_close(*, member, now: dt.datetime) -> int:
    """Close the member's stars: one CLOSE row of minus the balance under their lock. The stars closed."""
    loyalty.member_lock(member=member)
    balance = loyalty.member_balance(member=member)
    if balance:
        loyalty.ledger_write(member=member, kind=LoyaltyEntry.CLOSE, stars=-balance,
                             key=f"close:member:{member.pk}", reason="Account deleted by the member", now=now)
    return balance


def _orders_anonymise(*, member) -> int:
    """Unlink the member's orders and remove what in them names the person; their amounts stay as they are."""
    order_ids = list(Order.objects.filter(customer=member).values_list("pk", flat=True))
    if not order_ids:
        return 0
    names = {member.get_username(), member.email} - {""}
    # Nothing pointing at the account: idempotency keys were the app's per-account keys, and the
    # fingerprint is a hash of the request (the name included).
    Order.objects.filter(pk__in=order_ids).update(
        customer=None, customer_name=DELETED_NAME, idempotency_scope="", idempotency_key=None,
        request_fingerprint="")
    # The provider's payment-method and client-secret ids lead back to the customer's card; the intent id
    # stays (refunds and the provider's books are reconciled by it).
    Payment.objects.filter(order_id__in=order_ids).update(payment_method="", client_secret="")
    OrderNotification.objects.filter(order_id__in=order_ids, channel=OrderNotification.EMAIL,
                                     status=OrderNotification.SENT).update(detail="sent (account since deleted)")
    events = []
    for event in OrderEvent.objects.filter(order_id__in=order_ids):
        kept = {} if event.kind == OrderEvent.ARRIVAL else {
            key: value for key, value in (event.data or {}).items() if key in EVENT_DATA_KEPT}
        if kept != event.data:
            event.data = kept
            events.append(event)
    OrderEvent.objects.bulk_update(events, ["data"], batch_size=500)
    # The screens' events are never changed otherwise (outbox): the name a screen showed is the exception.
    store_events = []
    for event in StoreEvent.objects.filter(order_id__in=order_ids):
        payload = _store_payload_anonymised(event.payload or {}, names)
        if payload != event.payload:
            event.payload = payload
            store_events.append(event)
    StoreEvent.objects.bulk_update(store_events, ["payload"], batch_size=500)
    return len(order_ids)


def _store_payload_anonymised(payload: dict, names: set[str]) -> dict:
    payload = dict(payload)
    if isinstance(payload.get("ticket"), dict):
        payload["ticket"] = {**payload["ticket"], "name": DELETED_NAME, "public_name": ""}
    if payload.get("by") in names:
        payload["by"] = ""
    payload.pop("arrival", None)
    return payload


def _login_records_delete(*, username: str) -> int:
    """django-axes' records of this username's sign-ins and failed tries (address, browser, times)."""
    if not apps.is_installed("axes"):
        return 0
    removed = 0
    for model in ("AccessAttempt", "AccessLog", "AccessFailureLog"):
        try:
            removed += apps.get_model("axes", model).objects.filter(username=username).delete()[0]
        except LookupError:  # a version of axes without that table
            continue
    return removed

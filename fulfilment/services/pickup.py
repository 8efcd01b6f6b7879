"""Pickup: the customer's QR code and short code, the handoff at the shelf, and no-shows.

The QR code holds a token signed with Django's signing (SECRET_KEY): the order, its store, and the
end of the store's day, after which it no longer works. The short code is four characters to read
aloud, derived from the order with an HMAC, so nothing has to be stored; staff type it together with
the customer's name. A token (or code) works once: the handoff moves the order to picked_up under its
row lock, and any later scan finds it there and is told when it was handed over and by whom.

Four characters can be guessed, so wrong codes are counted per staff member and store (in the cache, shared
by every process when REDIS_URL is set): past HANDOFF_CODE_FAILURES code entry is refused with a 429 until
the period ends, and repeated failures are logged. The API and the expo screen's socket both come through
`pickup_handoff`, so one limit covers both. QR tokens are signed and cannot be guessed; they are not limited.
"""

import datetime as dt
import hmac
import io
import logging
import math

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.utils import timezone

from fulfilment.models import (
    FINISHED_STATUSES,
    KITCHEN_STATUSES,
    PAID_OPEN_STATUSES,
    NoShowAction,
    Order,
    OrderStatus,
)
from fulfilment.pickup_codes import pickup_code
from fulfilment.services.payments import payment_finish_order, payment_policy_for
from orderahead.env import parse_rate
from orderahead.errors import Conflict, DomainError, NotFound, TooManyAttempts

log = logging.getLogger(__name__)

S = OrderStatus
TOKEN_SALT = "fulfilment.pickup-token"
# A customer may show a pickup code while the order is paid and open (PAID_OPEN_STATUSES); staff get
# "not ready yet" until it is ready.


def _end_of_store_day(order: Order, now: dt.datetime) -> dt.datetime:
    """Midnight (store time) after the later of now and the promised pickup: an early look at the code of
    a scheduled order still works on its day."""
    tz = order.store.tz
    day = max(now, order.promised_ready_at or now).astimezone(tz).date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=tz).astimezone(dt.UTC)


def pickup_token(*, order: Order, now: dt.datetime | None = None) -> tuple[str, dt.datetime]:
    """The signed token for the order's QR code and when it stops working."""
    now = now or timezone.now()
    until = _end_of_store_day(order, now)
    token = signing.dumps({"o": order.pk, "s": order.store_id, "u": int(until.timestamp())}, salt=TOKEN_SALT)
    return token, until


def pickup_qr(*, order: Order, image_format: str, now: dt.datetime | None = None) -> bytes:
    """The order's QR code as PNG or SVG bytes. Only for a paid order that is not finished yet."""
    if order.status not in PAID_OPEN_STATUSES:
        raise Conflict(f"Order {order.pk} is {order.get_status_display().lower()}; it has no pickup code.",
                       code="no_pickup_code", fields={"status": order.status})
    token, _ = pickup_token(order=order, now=now)
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(token)
    qr.make(fit=True)
    out = io.BytesIO()
    if image_format == "svg":
        qr.make_image(image_factory=qrcode.image.svg.SvgPathImage).save(out)
    else:
        qr.make_image(fill_color="black", back_color="white").save(out, format="PNG")
    return out.getvalue()


def _read_token(*, token: str, store_id: int, now: dt.datetime) -> Order:
    try:
        data = signing.loads(token.strip(), salt=TOKEN_SALT)
        order_id, token_store, until = int(data["o"]), int(data["s"]), int(data["u"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise DomainError("This is not a pickup code of ours (it may have been altered); ask the customer to "
                          "show the code on their order page.", code="invalid_token") from None
    if token_store != store_id:
        raise NotFound("No such order at this store.", code="unknown_order")
    if now.timestamp() >= until:
        expired = dt.datetime.fromtimestamp(until, dt.UTC)
        raise DomainError(f"This pickup code expired at {expired:%Y-%m-%d %H:%M} UTC; ask the customer to "
                          "reload their order page.", code="token_expired", fields={"expired_at": expired.isoformat()})
    order = Order.objects.select_related("store").filter(pk=order_id, store_id=store_id).first()
    if order is None:
        raise NotFound("No such order at this store.", code="unknown_order")
    return order


def _name_matches(given: str, order: Order) -> bool:
    wanted = " ".join(given.split()).casefold()
    names = {" ".join(order.customer_name.split()).casefold()}
    names |= {name.split(" ")[0] for name in names if name}
    if order.customer_id:
        names.add(order.customer.get_username().casefold())
    return bool(wanted) and wanted in names


def _find_by_code(*, code: str, name: str, store_id: int, now: dt.datetime) -> Order:
    """The store's order with this short code and customer name: a ready one first, then one still being
    made, then one finished today (to say when it was handed over)."""
    code = code.strip().upper().replace(" ", "").replace("-", "")
    candidates = (Order.objects.select_related("store", "customer")
                  .filter(store_id=store_id, status__in=(*PAID_OPEN_STATUSES, *FINISHED_STATUSES),
                          created_at__gte=now - dt.timedelta(days=8))
                  .exclude(status__in=FINISHED_STATUSES, updated_at__lt=now - dt.timedelta(hours=24)))
    matches = [o for o in candidates if hmac.compare_digest(pickup_code(order=o), code) and _name_matches(name, o)]
    for wanted in ((S.READY,), KITCHEN_STATUSES, FINISHED_STATUSES):
        found = [o for o in matches if o.status in wanted]
        if len(found) > 1 and wanted == (S.READY,):
            raise Conflict("Two ready orders share this code and name; scan the QR code instead.",
                           code="ambiguous_code", fields={"orders": [o.pk for o in found]})
        if found:
            return found[0]
    raise NotFound(f"No order with code {code} for that name at this store.", code="unknown_code")


def _code_failure_window(*, store_id: int, staff, now: dt.datetime) -> tuple[str, int, int, int]:
    """(cache key counting this staff member's wrong codes at this store in the current period, the limit,
    the period's length and the seconds until it ends). Fixed periods: the count simply expires."""
    limit, period_s = parse_rate(settings.HANDOFF_CODE_FAILURES)
    stamp = now.timestamp()
    period = int(stamp // period_s)
    key = f"pickup-code-failures:{store_id}:{staff.pk}:{period}"
    return key, limit, period_s, max(1, math.ceil((period + 1) * period_s - stamp))


def _refuse_code_entry_if_paused(*, store_id: int, staff, now: dt.datetime) -> None:
    key, limit, _, wait_s = _code_failure_window(store_id=store_id, staff=staff, now=now)
    if (cache.get(key) or 0) >= limit:
        raise TooManyAttempts(f"Too many wrong pickup codes: code entry is paused for {wait_s} s. Scan the "
                              "customer's QR code instead, or try again then.", retry_after_s=wait_s)


def _count_code_failure(*, store_id: int, staff, now: dt.datetime) -> None:
    key, limit, period_s, wait_s = _code_failure_window(store_id=store_id, staff=staff, now=now)
    cache.add(key, 0, timeout=period_s + 1)
    try:
        failures = cache.incr(key)
    except ValueError:  # the period ended between add and incr
        cache.set(key, 1, timeout=period_s + 1)
        failures = 1
    if failures >= max(2, limit // 2):
        log.warning("Pickup handoff: %d wrong short codes at store %s by %s in the current %d s period%s",
                    failures, store_id, staff.get_username(), period_s,
                    f"; code entry paused for {wait_s} s" if failures >= limit else "")


def _refusal(order: Order) -> DomainError:
    """Why an order that is not on the shelf cannot be handed over."""
    if order.status == S.PICKED_UP:
        event = (order.events.filter(to_status=S.PICKED_UP).select_related("actor").order_by("-at").first())
        by = f" by {event.actor.get_username()}" if event and event.actor else ""
        when = order.picked_up_at.astimezone(order.store.tz) if order.picked_up_at else None
        return Conflict(f"Already handed over{f' at {when:%H:%M}' if when else ''}{by}: this code works once.",
                        code="already_picked_up",
                        fields={"status": order.status,
                                "picked_up_at": order.picked_up_at.isoformat() if order.picked_up_at else None,
                                "picked_up_by": event.actor.get_username() if event and event.actor else None})
    return Conflict(f"Order {order.pk} is {order.get_status_display().lower()}, not ready for pickup.",
                    code="not_ready", fields={"status": order.status})


def pickup_handoff(*, store_id: int, staff, token: str = "", code: str = "", name: str = "",
                   now: dt.datetime | None = None) -> Order:
    """Hand a ready order over: it becomes picked_up, its payment is captured first, and the history row
    names the staff member. With the scanned QR token, or the short code plus the customer's name."""
    now = now or timezone.now()
    if token:
        order, via = _read_token(token=token, store_id=store_id, now=now), "qr"
    elif code and name:
        _refuse_code_entry_if_paused(store_id=store_id, staff=staff, now=now)
        try:
            order, via = _find_by_code(code=code, name=name, store_id=store_id, now=now), "code"
        except NotFound:
            _count_code_failure(store_id=store_id, staff=staff, now=now)
            raise
    else:
        raise DomainError("Scan the QR code, or give the short code and the customer's name.", code="invalid")
    if order.status != S.READY:
        raise _refusal(order)
    return payment_finish_order(order=order, to_status=S.PICKED_UP, capture=True, actor=staff,
                                data={"handoff": {"via": via}}, refuse=_refusal, now=now)


def pickup_no_show_at(*, order: Order, after_minutes: int) -> dt.datetime:
    start = max((t for t in (order.ready_at, order.promised_ready_at) if t is not None), default=order.created_at)
    return start + dt.timedelta(minutes=after_minutes)


def pickup_mark_no_shows(*, now: dt.datetime | None = None) -> list[int]:
    """Ready orders left on the shelf past their store's no-show time become no_show; the store's
    policy decides whether the card hold is captured or released."""
    now = now or timezone.now()
    marked = []
    policies = {}
    for order in Order.objects.filter(status=S.READY).select_related("store").order_by("ready_at", "pk"):
        policy = policies.get(order.store_id) or policies.setdefault(order.store_id,
                                                                    payment_policy_for(store=order.store))
        if pickup_no_show_at(order=order, after_minutes=policy.no_show_after_minutes) > now:
            continue
        try:
            payment_finish_order(order=order, to_status=S.NO_SHOW, now=now,
                                 capture=policy.no_show_action == NoShowAction.CAPTURE,
                                 data={"no_show": {"after_minutes": policy.no_show_after_minutes,
                                                   "payment": policy.no_show_action}})
        except DomainError:
            continue  # picked up meanwhile, or the provider failed: the next sweep tries again
        marked.append(order.pk)
    return marked

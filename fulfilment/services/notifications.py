"""Telling customers their order is ready, with the page closed: by Web Push to every browser they subscribed,
and by email when they agreed to it (`CustomerProfile.email_when_ready`) and have an address.

- Consent: `notification_settings_get` / `notification_settings_set`; browsers: `push_subscription_save` /
  `push_subscription_delete`; every email carries a signed unsubscribe link (`email_unsubscribe_token`,
  `email_unsubscribe`), which needs no sign-in and no stored token.
- Sending: `notify_order_ready` is registered with the lifecycle for every move into READY and runs after the
  commit. It only hands the order id to a small pool of background threads (the barista's bump never waits on
  a push service or a mail server); `notifications_send_ready` does the work there, each send bounded by
  NOTIFICATION_TIMEOUT_S. NOTIFICATIONS_SYNC=True runs it in the calling thread instead (the tests), and
  `notifications_drain` waits for the pool.
- At most once per order and channel: an `OrderNotification` row is created before anything is sent, and its
  unique (order, channel, kind) makes a second run (a recall made ready again, a replayed effect) a no-op.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse

from fulfilment import webpush
from fulfilment.models import (
    CustomerProfile,
    Order,
    OrderNotification,
    OrderStatus,
    PushSubscription,
)
from fulfilment.pickup_codes import pickup_code
from fulfilment.services.lifecycle import Transition, on_transition
from orderahead.errors import DomainError, NotFound
from orderahead.logs import binds_order_id

log = logging.getLogger(__name__)

N = OrderNotification
READY = "ready"
UNSUBSCRIBE_SALT = "fulfilment.email-unsubscribe"
# A "ready" push is stale once the order has waited on the shelf this long; the push service may drop it then.
PUSH_TTL_S = 3600
# Written before the send and replaced after it: a row left like this means the process stopped mid-send.
IN_FLIGHT = "Sending; no answer recorded."


# --- Consent -------------------------------------------------------------------------------------------

def notification_settings_get(*, user) -> dict:
    """What the customer agreed to, and what a browser needs to subscribe (what GET /api/me/notifications/ returns)."""
    profile = CustomerProfile.objects.filter(user=user).first()
    try:
        public_key = webpush.application_server_key()
    except OSError:  # no key configured and var/ not writable: the app just offers no push
        log.exception("No VAPID key: set WEBPUSH_VAPID_PRIVATE_KEY / WEBPUSH_VAPID_PUBLIC_KEY")
        public_key = ""
    return {"email": user.email, "email_when_ready": bool(profile and profile.email_when_ready),
            "push_public_key": public_key, "push_subscriptions": user.push_subscriptions.count()}


def notification_settings_set(*, user, email_when_ready: bool | None = None, email: str | None = None) -> dict:
    """Change the email consent and/or the account's address. Email on without an address is refused."""
    with transaction.atomic():
        profile, _ = CustomerProfile.objects.select_for_update().get_or_create(user=user)
        wants_email = profile.email_when_ready if email_when_ready is None else email_when_ready
        address = user.email if email is None else email.strip()
        if wants_email and not address:
            raise DomainError("Add an email address to get an email when your order is ready.",
                              code="email_required", fields={"email": "required to turn email on"})
        if email is not None and address != user.email:
            user.email = address
            user.save(update_fields=["email"])
        if wants_email != profile.email_when_ready:
            profile.email_when_ready = wants_email
            profile.save(update_fields=["email_when_ready", "updated_at"])
    return notification_settings_get(user=user)


def push_subscription_save(*, user, endpoint: str, p256dh: str, auth: str) -> PushSubscription:
    """Keep a browser's subscription (PushSubscription.toJSON()). The endpoint is the browser's: sent again
    (new keys, or another account signed in on that browser) it is updated and moves to this user."""
    if not webpush.push_service_allowed(endpoint):
        raise DomainError("That push endpoint is not at a known browser push service.", code="push_endpoint_refused",
                          fields={"endpoint": "not a browser push service"})
    if not webpush.subscription_keys_valid(p256dh=p256dh, auth=auth):
        raise DomainError("The subscription's keys are not Web Push keys (p256dh: a P-256 public key, auth: 16 "
                          "bytes, both base64url).", code="push_keys_invalid", fields={"keys": "invalid"})
    subscription, _ = PushSubscription.objects.update_or_create(
        endpoint=endpoint, defaults={"user": user, "p256dh": p256dh, "auth": auth, "last_error": ""})
    return subscription


def push_subscription_delete(*, user, endpoint: str) -> None:
    """Forget one of the user's browsers. Another user's endpoint is "not found", never deleted."""
    deleted, _ = PushSubscription.objects.filter(user=user, endpoint=endpoint).delete()
    if not deleted:
        raise NotFound("You have no push subscription with that endpoint.", code="unknown_subscription")


def email_unsubscribe_token(*, user) -> str:
    """The signed token of the user's unsubscribe link: it works without signing in and never expires (an old
    email's link must still work), and only turns the emails off."""
    return signing.dumps({"user": user.pk}, salt=UNSUBSCRIBE_SALT, compress=True)


def email_unsubscribe_user(*, token: str):
    """The user an unsubscribe token was made for; DomainError when it is not one of ours."""
    try:
        user_id = signing.loads(token, salt=UNSUBSCRIBE_SALT)["user"]
    except (signing.BadSignature, KeyError, TypeError):
        raise DomainError("This unsubscribe link is not valid. Copy the whole link from the email, or turn emails "
                          "off in the app.", code="bad_unsubscribe_token") from None
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise DomainError("This unsubscribe link's account no longer exists.", code="bad_unsubscribe_token")
    return user


def email_unsubscribe(*, token: str):
    """Turn "email me when my order is ready" off for the token's user (the link and RFC 8058's one-click POST)."""
    user = email_unsubscribe_user(token=token)
    CustomerProfile.objects.update_or_create(user=user, defaults={"email_when_ready": False})
    return user


def email_unsubscribe_url(*, user) -> str:
    path = reverse("notifications-unsubscribe", kwargs={"token": email_unsubscribe_token(user=user)})
    return f"{settings.PUBLIC_BASE_URL}{path}"


# --- Sending when an order is ready -----------------------------------------------------------------------

_pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="notify")
_pending: set[concurrent.futures.Future] = set()
_pending_lock = threading.Lock()


@on_transition(to=OrderStatus.READY)
def notify_order_ready(change: Transition) -> None:
    """After a move into READY commits: send the customer's notifications, off the request thread."""
    if change.customer_id is None:  # a walk-in without an account: nobody to tell
        return
    if settings.NOTIFICATIONS_SYNC:
        notifications_send_ready(order_id=change.order_id)
        return
    future = _pool.submit(_send_in_background, change.order_id)
    with _pending_lock:
        _pending.add(future)
    future.add_done_callback(_forget)


def _forget(future: concurrent.futures.Future) -> None:
    with _pending_lock:
        _pending.discard(future)


def _send_in_background(order_id: int) -> None:
    close_old_connections()  # this thread's connection from an earlier send may be stale
    try:
        notifications_send_ready(order_id=order_id)
    except Exception:
        log.exception("Ready notifications for order %s failed", order_id, extra={"order_id": order_id})
    finally:
        connection.close()  # a pool thread must not keep a connection (or a pool slot) between sends


def notifications_drain(timeout_s: float = 30.0) -> bool:
    """Wait until every send handed to the background pool has finished; False if some are still running."""
    with _pending_lock:
        waiting = list(_pending)
    _, not_done = concurrent.futures.wait(waiting, timeout=timeout_s)
    return not not_done


@binds_order_id
def notifications_send_ready(*, order_id: int) -> None:
    """Email and push the customer of a ready order, each at most once (recorded in OrderNotification)."""
    order = Order.objects.select_related("store", "customer").filter(pk=order_id).first()
    if order is None or order.customer is None:
        return
    _email_ready(order)
    _push_ready(order)


def _claim(order: Order, channel: str, *, status: str = N.FAILED, detail: str = IN_FLIGHT) -> N | None:
    """The order's row for `channel`, created now; None when one exists (already sent, or being sent)."""
    try:
        with transaction.atomic():
            return N.objects.create(order=order, channel=channel, kind=READY, status=status, detail=detail[:300])
    except IntegrityError:
        return None


def _record(row: N, status: str, detail: str) -> None:
    N.objects.filter(pk=row.pk).update(status=status, detail=detail[:300])


def _email_ready(order: Order) -> None:
    user = order.customer
    consent = CustomerProfile.objects.filter(user=user, email_when_ready=True).exists()
    if not consent or not user.email:
        _claim(order, N.EMAIL, status=N.SKIPPED, detail="no consent" if not consent else "no email address")
        return
    row = _claim(order, N.EMAIL)
    if row is None:
        return
    message = _ready_email(order, user)
    try:
        message.send()
    except Exception as error:  # noqa: BLE001 - SMTP errors, refused connections, timeouts: recorded, not raised
        log.warning("Ready email for order %s failed: %s", order.pk, error, extra={"order_id": order.pk})
        _record(row, N.FAILED, f"{type(error).__name__}: {error}")
        return
    _record(row, N.SENT, f"to {user.email}")


def _ready_email(order: Order, user) -> EmailMultiAlternatives:
    unsubscribe_url = email_unsubscribe_url(user=user)
    context = {"order": order, "store": order.store, "code": pickup_code(order=order),
               "order_url": f"{settings.PUBLIC_BASE_URL}/#/order/{order.pk}", "unsubscribe_url": unsubscribe_url,
               "name": order.customer_name or user.get_username()}
    message = EmailMultiAlternatives(
        subject=f"Your order #{order.pk} is ready",
        body=render_to_string("fulfilment/email/order_ready.txt", context),
        to=[user.email],
        # RFC 2369 and RFC 8058: mail apps show an unsubscribe button that POSTs to the link, no page needed.
        headers={"List-Unsubscribe": f"<{unsubscribe_url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})
    message.attach_alternative(render_to_string("fulfilment/email/order_ready.html", context), "text/html")
    return message


def push_payload(order: Order) -> dict:
    """What the service worker shows ({title, body, url, tag}; sw.js reads these keys)."""
    return {"title": "Your order is ready",
            "body": f"Order #{order.pk} at {order.store.name}. Code {pickup_code(order=order)}.",
            "url": f"/#/order/{order.pk}", "tag": f"order-{order.pk}"}


def _push_ready(order: Order) -> None:
    subscriptions = list(PushSubscription.objects.filter(user=order.customer).order_by("pk"))
    if not subscriptions:
        _claim(order, N.PUSH, status=N.SKIPPED, detail="no browser subscribed")
        return
    row = _claim(order, N.PUSH)
    if row is None:
        return
    payload = push_payload(order)
    delivered, gone, failures = 0, 0, []
    for subscription in subscriptions:
        result = webpush.push_send(endpoint=subscription.endpoint, p256dh=subscription.p256dh,
                                   auth=subscription.auth, payload=payload, ttl_s=PUSH_TTL_S,
                                   topic=payload["tag"])
        if result.delivered:
            delivered += 1
            if subscription.last_error:
                PushSubscription.objects.filter(pk=subscription.pk).update(last_error="")
        elif result.gone:  # the browser unsubscribed or the subscription expired: never push to it again
            gone += 1
            PushSubscription.objects.filter(pk=subscription.pk).delete()
        else:
            failures.append(result.error)
            PushSubscription.objects.filter(pk=subscription.pk).update(last_error=result.error[:300])
    detail = f"delivered to {delivered} of {len(subscriptions)} browsers"
    if gone:
        detail += f"; {gone} gone (removed)"
    if failures:
        detail += f"; {failures[0]}"
    _record(row, N.SENT if delivered else N.FAILED, detail)

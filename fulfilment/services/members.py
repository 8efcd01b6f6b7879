"""Scan to identify (issue 28): the member code the app shows, the staff scan (or phone look-up) that finds
the member, and attaching an order to them before it is paid.

- The member code is a token signed with Django's signing under its own salt: the member, a random nonce
  and when it was issued. It works for CODE_VALID_S (a screenshot passed on soon stops working); the app
  fetches a new one every CODE_REFRESH_S, so the code on screen always has a minute left.
- A scan uses the code once: it records a MemberCodeUse under the code's nonce, which is unique, so a second
  scan of the same code (at this store or any other, at once or later) is refused, even when two tills scan
  it at the same moment (the database's unique constraint decides).
- The scan answers with a serving token: signed, bound to the store that scanned and to that use, valid
  SERVING_VALID_S. It is what the till sends with the order to attach it to the member, and the only time
  staff see the member's name and balance.
- Attaching: until the order is paid, never after. An order paid at the till as it is placed is attached at
  placement (the staff order API's `member`: `member_order_place`); one placed to be paid when collected (the
  drive-thru speaker, then the window) can be attached until the till takes the money
  (`member_order_attach`). One order per scan either way.
"""

import datetime as dt
import io
import re
import secrets
from dataclasses import dataclass

import qrcode
import qrcode.image.svg
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from fulfilment.models import (
    CustomerProfile,
    LoyaltyEntry,
    MemberCodeUse,
    Order,
    OrderEvent,
    OrderStatus,
    Reward,
)
from fulfilment.presenters import ORDER_CHANGED
from fulfilment.services.lifecycle import order_lock
from fulfilment.services.loyalty import member_balance, program_active
from fulfilment.services.orders import order_place, order_reward_add
from fulfilment.services.outbox import outbox_order_changed
from fulfilment.services.payments.till import till_payment_due
from orderahead.errors import Conflict, DomainError, NotFound
from orderahead.logs import get_logger
from stores.models import Store
from stores.selectors import store_role

log = get_logger(__name__)

CODE_SALT = "fulfilment.member-code"
SERVING_SALT = "fulfilment.member-serving"
CODE_VALID_S = 120
CODE_REFRESH_S = 60
SERVING_VALID_S = 15 * 60
# A code stamped a little in the future comes from a server whose clock runs slightly ahead: accepted.
CLOCK_SKEW_S = 30
PHONE_DIGITS = (7, 15)
HISTORY_ROWS = 20
_UNSET = object()


@dataclass(frozen=True)
class MemberServing:
    """What the till learns from a scan: the token to send with the order, and who it is serving."""

    token: str
    expires_at: dt.datetime
    member: object
    name: str
    balance: int
    rewards: list[Reward]
    via: str  # "code" or "phone"


def member_display_name(member) -> str:
    return (member.first_name or "").strip() or member.get_username()


def phone_digits(phone: str) -> str:
    """A phone number as stored: digits only (spaces, dashes, dots, brackets and a leading + dropped).
    DomainError unless 7 to 15 digits remain."""
    text = re.sub(r"[\s\-.()]", "", str(phone or ""))
    text = text[1:] if text.startswith("+") else text
    low, high = PHONE_DIGITS
    if not text.isdigit() or not low <= len(text) <= high or not text.isascii():
        raise DomainError(f"A phone number is {low} to {high} digits (spaces, dashes and a leading + are fine).",
                          code="bad_phone", fields={"phone": "not a phone number"})
    return text


def _at(stamp: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(stamp, dt.UTC)


# --- The member code ------------------------------------------------------------------------------------------

def member_code_issue(*, member, now: dt.datetime | None = None) -> tuple[str, dt.datetime]:
    """A new member code for `member` and when it stops working."""
    issued = int((now or timezone.now()).timestamp())
    code = signing.Signer(salt=CODE_SALT).sign_object({"m": member.pk, "n": secrets.token_urlsafe(12), "t": issued})
    return code, _at(issued + CODE_VALID_S)


def member_code_qr_svg(*, code: str) -> bytes:
    """The member code as a QR code (SVG), drawn like the pickup QR codes."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(code)
    qr.make(fit=True)
    out = io.BytesIO()
    qr.make_image(image_factory=qrcode.image.svg.SvgPathImage).save(out)
    return out.getvalue()


def _read_code(code: str, now: dt.datetime) -> tuple[int, str]:
    """(member id, nonce) of a genuine code that has not expired."""
    try:
        data = signing.Signer(salt=CODE_SALT).unsign_object(code.strip())
        member_id, nonce, issued = int(data["m"]), str(data["n"]), int(data["t"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise DomainError("This is not one of our member codes (it may have been altered); ask the customer to "
                          "open the member card in their app.", code="invalid_member_code") from None
    age = now.timestamp() - issued
    if age > CODE_VALID_S:
        raise DomainError("This member code has expired; ask the customer to refresh it.",
                          code="member_code_expired", fields={"expired_at": _at(issued + CODE_VALID_S).isoformat()})
    if age < -CLOCK_SKEW_S:
        raise DomainError("This member code is not valid yet; ask the customer to refresh it.",
                          code="invalid_member_code")
    return member_id, nonce


def _active_member(member_id: int):
    member = get_user_model().objects.filter(pk=member_id, is_active=True).first()
    if member is None:
        raise NotFound("This member no longer has an account.", code="unknown_member")
    return member


# --- Identifying a member at the till ---------------------------------------------------------------------------

def member_rewards_affordable(*, balance: int) -> list[Reward]:
    """The active program's active rewards that `balance` stars pay for (birthday rewards aside: they cost
    no stars and depend on the date, which the redemption checks)."""
    program = program_active()
    if program is None:
        return []
    return list(program.rewards.filter(is_active=True, is_birthday=False, stars_cost__lte=balance)
                .order_by("stars_cost", "id"))


def member_identify(*, store: Store, staff, code: str | None = None, phone: str | None = None,
                    now: dt.datetime | None = None) -> MemberServing:
    """Staff of `store` scan a member code (or type the member's phone): the code is used up, and the till
    gets a serving token for the member's order with their name, balance and the rewards they can afford."""
    now = now or timezone.now()
    if store_role(user=staff, store_id=store.pk) is None:
        raise DomainError("You are not on the staff of this store.", code="not_staff", status=403)
    if bool(code and code.strip()) == bool(phone and str(phone).strip()):
        raise DomainError("Scan the member code or type the member's phone number (one of them).",
                          code="invalid", fields={"code": "or phone"})
    if code:
        member_id, nonce = _read_code(code, now)
        member, via = _active_member(member_id), "code"
    else:
        profile = (CustomerProfile.objects.select_related("user")
                   .filter(phone=phone_digits(phone), user__is_active=True).first())
        if profile is None:
            raise NotFound("No member has registered that phone number.", code="unknown_phone")
        # A phone look-up has no code to use up; its own nonce records who looked whom up, where.
        member, nonce, via = profile.user, f"phone:{secrets.token_urlsafe(12)}", "phone"
    try:
        with transaction.atomic():
            use = MemberCodeUse.objects.create(nonce=nonce, member=member, store=store, scanned_by=staff, used_at=now)
    except IntegrityError:  # this code was scanned before (here or elsewhere), or by another till just now
        raise Conflict("This member code was already scanned: each code works once. Ask the customer to show "
                       "the fresh code in their app.", code="member_code_used") from None
    log.info("member_identified", store_id=store.pk, member_id=member.pk, via=via, use_id=use.pk)
    balance = member_balance(member=member)
    expires = now + dt.timedelta(seconds=SERVING_VALID_S)
    token = signing.Signer(salt=SERVING_SALT).sign_object(
        {"m": member.pk, "s": store.pk, "u": use.pk, "x": int(expires.timestamp())})
    return MemberServing(token=token, expires_at=_at(int(expires.timestamp())), member=member,
                         name=member_display_name(member), balance=balance,
                         rewards=member_rewards_affordable(balance=balance), via=via)


def _read_serving(*, store_id: int, serving_token: str, now: dt.datetime) -> tuple[object, int]:
    """(member, MemberCodeUse id) of a serving token issued at this store that has not expired."""
    try:
        data = signing.Signer(salt=SERVING_SALT).unsign_object(str(serving_token).strip())
        member_id, token_store, use_id, until = int(data["m"]), int(data["s"]), int(data["u"]), int(data["x"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise DomainError("This member token is not one of ours; scan the customer's member code again.",
                          code="invalid_member_token", fields={"member": "invalid"}) from None
    if token_store != store_id:
        raise DomainError("This member was identified at another store; scan their member code here.",
                          code="member_token_other_store", fields={"member": "other store"})
    if now.timestamp() >= until:
        raise DomainError("Serving this member timed out; scan their member code again.",
                          code="member_token_expired", fields={"member": "expired"})
    if not MemberCodeUse.objects.filter(pk=use_id, member_id=member_id, store_id=store_id).exists():
        raise DomainError("This member token is not one of ours; scan the customer's member code again.",
                          code="invalid_member_token", fields={"member": "invalid"})
    return _active_member(member_id), use_id


def member_for_serving(*, store: Store | int, serving_token: str, now: dt.datetime | None = None):
    """The member a serving token names, if it was issued at `store` and has not expired."""
    store_id = store if isinstance(store, int) else store.pk
    member, _ = _read_serving(store_id=store_id, serving_token=serving_token, now=now or timezone.now())
    return member


def _scan_locked(*, store_id: int, serving_token: str) -> tuple[object, MemberCodeUse]:
    """The member a serving token names and its scan's row, locked: one order per scan is decided under it."""
    member, use_id = _read_serving(store_id=store_id, serving_token=serving_token, now=timezone.now())
    return member, MemberCodeUse.objects.select_for_update().get(pk=use_id)


def _scan_used(use: MemberCodeUse) -> Conflict:
    return Conflict(f"This scan was used for order {use.order_id} already; scan the member's code again for "
                    "another order.", code="member_token_used", fields={"member": "used", "order": use.order_id})


def member_order_place(*, store_id: int, serving_token: str, customer_name: str = "",
                       idempotency_key: str | None = None, **placing) -> tuple[Order, bool]:
    """Place an order (`orders.order_place`, with `placing`) for the member a serving token names: theirs from
    the start. One order per scan: a second order needs a fresh scan of the customer's code, so a till cannot
    keep crediting other people's orders to the member it served; a retry of the same order (its
    Idempotency-Key) is still the same order. The scan's row is locked while placing, so two orders racing
    with one token cannot both be placed."""
    with transaction.atomic():
        member, use = _scan_locked(store_id=store_id, serving_token=serving_token)
        if use.order_id is not None:
            served_key = Order.objects.filter(pk=use.order_id).values_list("idempotency_key", flat=True).first()
            if not idempotency_key or served_key != idempotency_key:
                raise _scan_used(use)
        order, created = order_place(store_id=store_id, customer=member, idempotency_key=idempotency_key,
                                     customer_name=customer_name or member_display_name(member), **placing)
        if use.order_id is None:
            use.order = order
            use.save(update_fields=["order"])
    return order, created


# --- Adding a member to an order that is not paid yet -------------------------------------------------------------

def member_order_attach(*, store_id: int, order_id: int, serving_token: str, actor,
                        reward_id: int | None = None) -> Order:
    """The till adds the member it just identified to one of the store's orders that is not paid yet (a
    drive-thru order taken at the speaker, paid at the window: `Order.awaiting_till_payment`), with a reward
    they spend on it (`orders.order_reward_add`). One order per scan, as when placing; sending the same token
    for the same order again returns it unchanged. A refused reward adds nothing: the till can add the member
    without it."""
    with transaction.atomic():
        member, use = _scan_locked(store_id=store_id, serving_token=serving_token)
        order = Order.objects.filter(pk=order_id, store_id=store_id).first()
        if order is None:
            raise NotFound(f"Order {order_id} is not one of this store's orders.", code="unknown_order")
        if use.order_id == order.pk:
            return order  # a retry: this scan added this member to this order already
        if use.order_id is not None:
            raise _scan_used(use)
        order = member_attach(order=order, member=member, actor=actor)
        if reward_id is not None:
            order = order_reward_add(order=order, reward_id=reward_id, member=member, actor=actor)
        use.order = order
        use.save(update_fields=["order"])
    return order


def member_attach(*, order: Order, member, actor) -> Order:
    """Make `order` the member's while it is not paid yet (awaiting the card in the app, or the till when
    collected) and belongs to no one. 409 once paid: the member would earn stars on an order they may not
    have paid for; 409 when it is someone's already, or is no longer open."""
    with transaction.atomic():
        store, locked = order_lock(order)
        if not (locked.status == OrderStatus.PENDING_PAYMENT or till_payment_due(locked)):
            if locked.status in (OrderStatus.CANCELLED, OrderStatus.NO_SHOW):
                raise Conflict(f"Order {locked.pk} is {locked.get_status_display().lower()}.", code="not_open",
                               fields={"status": locked.status})
            raise Conflict(f"Order {locked.pk} is already paid: a member can only be added before payment.",
                           code="already_paid", fields={"status": locked.status})
        if locked.customer_id is not None:
            raise Conflict(f"Order {locked.pk} already belongs to a member.", code="already_attached",
                           fields={"status": locked.status})
        locked.customer = member
        locked.customer_name = locked.customer_name or member_display_name(member)
        locked.save(update_fields=["customer", "customer_name", "updated_at"])
        OrderEvent.objects.create(order=locked, kind=OrderEvent.MEMBER_ADDED, from_status=locked.status,
                                  to_status=locked.status, actor=actor, data={"member": member.pk})
        # The kitchen screens' ticket and the member's own order stream show whose it is now.
        outbox_order_changed(store=store, order=locked, kind=ORDER_CHANGED, actor=actor)
    log.info("member_attached", order_id=locked.pk, member_id=member.pk)
    return locked


# --- The member's own card ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MemberCard:
    balance: int
    rewards: list[Reward]
    history: list[LoyaltyEntry]
    phone: str | None
    birthday: dt.date | None


def member_card(*, member) -> MemberCard:
    """What the member sees of their loyalty: balance, the rewards on offer, their latest ledger rows."""
    program = program_active()
    profile = CustomerProfile.objects.filter(user=member).first()
    return MemberCard(balance=member_balance(member=member),
                      rewards=list(program.rewards.filter(is_active=True).order_by("stars_cost", "id"))
                      if program else [],
                      history=list(LoyaltyEntry.objects.filter(member=member)
                                   .order_by("-created_at", "-id")[:HISTORY_ROWS]),
                      phone=profile.phone if profile else None, birthday=profile.birthday if profile else None)


def member_profile_update(*, member, phone=_UNSET, birthday=_UNSET) -> CustomerProfile:
    """Register (or remove, with "" or None) the phone staff may type at the till, and set the birthday.
    A phone another member registered is refused (409). The birthday is set once: changing it would let
    anyone have a birthday reward every week, so a set birthday is refused (409) unless it is the same."""
    with transaction.atomic():
        profile, _ = CustomerProfile.objects.get_or_create(user=member)
        profile = CustomerProfile.objects.select_for_update().get(pk=profile.pk)
        fields = []
        if phone is not _UNSET:
            digits = phone_digits(phone) if phone not in (None, "") else None
            if digits and CustomerProfile.objects.filter(phone=digits).exclude(pk=profile.pk).exists():
                raise Conflict("Another member has registered this phone number.", code="phone_taken",
                               fields={"phone": "taken"})
            profile.phone = digits
            fields.append("phone")
        if birthday is not _UNSET:
            if profile.birthday and birthday != profile.birthday:
                raise Conflict("Your birthday is already set; a store manager can correct it.",
                               code="birthday_set", fields={"birthday": "already set"})
            profile.birthday = birthday
            fields.append("birthday")
        if fields:
            try:
                with transaction.atomic():
                    profile.save(update_fields=[*fields, "updated_at"])
            except IntegrityError:  # another member took the number a moment ago
                raise Conflict("Another member has registered this phone number.", code="phone_taken",
                               fields={"phone": "taken"}) from None
    return profile

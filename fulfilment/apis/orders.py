"""Ordering API: quotes, customer orders, and in-store orders placed by staff."""

import functools

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from fulfilment import selectors, services
from fulfilment.models import OPEN_STATUSES, Channel, OrderStatus
from fulfilment.permissions import IsStoreStaff
from fulfilment.serializers import (
    ArrivalIn,
    OrderIn,
    OrderOut,
    QuoteIn,
    QuoteOut,
    StaffOrderIn,
    StaffOrderMemberIn,
    StaffOrderOut,
)
from fulfilment.services import members
from fulfilment.services.arrival import order_arrival_record
from fulfilment.services.payments.till import payment_take_at_till
from orderahead.errors import Conflict, DomainError, NotFound
from orderahead.throttling import ScopedRateThrottle

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
    description="Required. One new value (a UUID, say) per checkout, sent again unchanged on every retry of it: "
                "a retry with the same key and body returns the first order (200, `Idempotent-Replayed: true`) "
                "instead of placing a second one; the same key with another body is refused (409). "
                "Up to 128 characters.")
ERRORS = {400: OpenApiResponse(description="Invalid request"), 409: OpenApiResponse(description="Conflict")}
# Further answers the API gives, declared so the schema lists every status a client must handle.
NOT_FOUND = {404: OpenApiResponse(description="No such store or order")}
SIGNED_OUT = {401: OpenApiResponse(description="Not signed in: send `Authorization: Token <key>`")}
THROTTLED = {429: OpenApiResponse(description="Too many requests; retry after `Retry-After` seconds")}
PAYMENT = {402: OpenApiResponse(description="Card declined; the order was cancelled"),
           503: OpenApiResponse(description="Payment provider unreachable; the order is kept, retry with the "
                                            "same Idempotency-Key")}


def _idempotency_key(request) -> str:
    """The client's key for this checkout. Required on every channel: a phone on a slow network, a second
    tab and a till that retries after a timeout all send the same order twice, and only the key tells the
    server that the second request is the first one again."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        raise DomainError(
            "Send an Idempotency-Key header with every order: one new value (a UUID, say) per checkout, sent "
            "again unchanged when you retry it, so a retried or repeated request never places a second order.",
            code="idempotency_key_required", fields={"Idempotency-Key": "required"})
    key = key.strip()
    if not 1 <= len(key) <= 128:
        raise serializers.ValidationError({"Idempotency-Key": "Must be 1 to 128 characters."})
    return key


def _order_response(order, created: bool, out=OrderOut) -> Response:
    response = Response(out(order).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
    if not created:
        response["Idempotent-Replayed"] = "true"
    return response


class QuoteApi(APIView):
    # Anyone may ask for a quote, and each one reads the store's queue and runs the scheduler: limited per
    # client so that one script cannot slow every store's quotes and orders down.
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "quote"

    @extend_schema(request=QuoteIn, responses={200: QuoteOut, **ERRORS, **NOT_FOUND, **THROTTLED},
                   summary="Price, tax and pickup times (ASAP, and the slots of one day) for a cart")
    def post(self, request, store_id: int):
        cart = QuoteIn(data=request.data)
        cart.is_valid(raise_exception=True)
        member = request.user if request.user.is_authenticated else None  # their rewards, if signed in
        quote = services.quote_for_cart(store_id=store_id, lines=cart.lines(),
                                        requested_at=cart.validated_data["pickup"], day=cart.validated_data["day"],
                                        member=member, reward_id=cart.validated_data["reward"])
        return Response(QuoteOut(quote).data)


class OrderListApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_scope = "order_place"

    def get_throttles(self):
        return [ScopedRateThrottle()] if self.request.method == "POST" else []

    @extend_schema(responses={200: OrderOut(many=True), **SIGNED_OUT}, summary="Your orders, newest first")
    def get(self, request):
        orders = selectors.order_list_for_customer(customer=request.user)[:50]
        return Response(OrderOut(orders, many=True).data)

    @extend_schema(request=OrderIn, parameters=[IDEMPOTENCY_HEADER],
                   responses={201: OrderOut, 200: OrderOut, **ERRORS, **NOT_FOUND, **SIGNED_OUT, **THROTTLED,
                              **PAYMENT}, summary="Place a mobile order")
    def post(self, request):
        data = OrderIn(data=request.data)
        data.is_valid(raise_exception=True)
        order, created = services.order_place(
            store_id=data.validated_data["store"], channel=Channel.MOBILE, lines=data.lines(),
            requested_at=data.validated_data["pickup"], customer=request.user,
            customer_name=data.validated_data["customer_name"], idempotency_key=_idempotency_key(request),
            payment_method=data.validated_data["payment_method"],
            fire_on_arrival=data.validated_data["fire_on_arrival"], reward_id=data.validated_data["reward"])
        return _order_response(selectors.order_get_for_customer(customer=request.user, order_id=order.pk), created)


class OrderDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OrderOut, 404: OpenApiResponse(description="Not yours or not there"),
                              **SIGNED_OUT}, summary="One of your orders")
    def get(self, request, order_id: int):
        order = selectors.order_get_for_customer_or_404(customer=request.user, order_id=order_id)
        return Response(OrderOut(order).data)


class OrderCancelApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: OrderOut, 404: OpenApiResponse(description="Not found"),
                                            409: OpenApiResponse(description="Too late to cancel"), **SIGNED_OUT},
                   summary="Cancel your order before the kitchen starts it (again: the cancelled order, 200)")
    def post(self, request, order_id: int):
        order = selectors.order_get_for_customer_or_404(customer=request.user, order_id=order_id)
        try:
            services.order_cancel_by_customer(order=order, customer=request.user)
        except Conflict as refused:
            # A cancel sent again because its answer was lost (a dropped connection, a 503 after the commit)
            # finds the order cancelled: that is the answer it asked for, not "too late".
            if refused.fields.get("status") != OrderStatus.CANCELLED:
                raise
        return Response(OrderOut(selectors.order_get_for_customer(customer=request.user, order_id=order_id)).data)


class OrderArrivalApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=ArrivalIn, responses={200: OrderOut, 404: OpenApiResponse(description="Not yours or not there"),
                                                 **ERRORS, **SIGNED_OUT},
                   summary='Tell the store you are coming: "on my way, N minutes" or "I\'m here" (again: no change)')
    def post(self, request, order_id: int):
        order = selectors.order_get_for_customer_or_404(customer=request.user, order_id=order_id)
        data = ArrivalIn(data=request.data)
        data.is_valid(raise_exception=True)
        order_arrival_record(order=order, customer=request.user, here=data.validated_data["here"],
                             eta_minutes=data.validated_data["eta_minutes"])
        return Response(OrderOut(selectors.order_get_for_customer(customer=request.user, order_id=order_id)).data)


class StaffOrderApi(APIView):
    """Orders of the channels staff place (counter, kiosk, ...: `placed_by_staff` in fulfilment.channels),
    paid in store or by the partner, in the same queue."""

    permission_classes = [IsAuthenticated, IsStoreStaff]
    throttle_scope = "order_place"

    def get_throttles(self):
        return [ScopedRateThrottle()] if self.request.method == "POST" else []

    @extend_schema(responses=StaffOrderOut(many=True), summary="Open orders of the store (staff)", parameters=[
        OpenApiParameter("payment_due", OpenApiTypes.BOOL, description="Only those still to be paid at the till")])
    def get(self, request, store_id: int):
        orders = selectors.order_list_for_store(store_id=store_id, statuses=OPEN_STATUSES).order_by("promised_ready_at")
        if request.query_params.get("payment_due") in ("1", "true"):
            orders = orders.filter(awaiting_till_payment=True)
        return Response(StaffOrderOut(orders[:200], many=True).data)

    @extend_schema(request=StaffOrderIn, parameters=[IDEMPOTENCY_HEADER],
                   responses={201: StaffOrderOut, 200: StaffOrderOut, **ERRORS},
                   summary="Place an in-store order (staff)")
    def post(self, request, store_id: int):
        data = StaffOrderIn(data=request.data)
        data.is_valid(raise_exception=True)
        place = services.order_place
        if data.validated_data["member"]:  # a member identified at this till: the order is theirs from the start
            place = functools.partial(members.member_order_place, serving_token=data.validated_data["member"])
        order, created = place(
            store_id=store_id, channel=data.validated_data["channel"], lines=data.lines(),
            requested_at=data.validated_data["pickup"], customer_name=data.validated_data["customer_name"],
            placed_by=request.user, idempotency_key=_idempotency_key(request), reward_id=data.validated_data["reward"],
            pay_when_collected=data.validated_data["pay_when_collected"])
        return _order_response(selectors.order_list_for_store(store_id=store_id).get(pk=order.pk), created,
                               out=StaffOrderOut)


def _store_order_or_404(store_id: int, order_id: int):
    order = selectors.order_list_for_store(store_id=store_id).filter(pk=order_id).first()
    if order is None:
        raise NotFound(f"Order {order_id} is not one of this store's orders.", code="unknown_order")
    return order


class StaffOrderMemberApi(APIView):
    """The till adds the member it identified to an order not paid yet (issue 28: scan at the window)."""

    permission_classes = [IsAuthenticated, IsStoreStaff]

    @extend_schema(request=StaffOrderMemberIn, responses={200: StaffOrderOut, **ERRORS, **NOT_FOUND, **SIGNED_OUT},
                   summary="Add the member being served to an order not paid yet (staff)")
    def post(self, request, store_id: int, order_id: int):
        data = StaffOrderMemberIn(data=request.data)
        data.is_valid(raise_exception=True)
        members.member_order_attach(store_id=store_id, order_id=order_id, actor=request.user,
                                    serving_token=data.validated_data["member"],
                                    reward_id=data.validated_data["reward"])
        return Response(StaffOrderOut(_store_order_or_404(store_id, order_id)).data)


class StaffOrderPaidApi(APIView):
    """The till took the payment of an order placed to be paid when collected (the drive-thru window)."""

    permission_classes = [IsAuthenticated, IsStoreStaff]

    @extend_schema(request=None, responses={200: StaffOrderOut, 409: OpenApiResponse(description="No longer open"),
                                            **NOT_FOUND, **SIGNED_OUT},
                   summary="Record that the till took an order's payment (staff); again changes nothing")
    def post(self, request, store_id: int, order_id: int):
        payment_take_at_till(order=_store_order_or_404(store_id, order_id), actor=request.user)
        return Response(StaffOrderOut(_store_order_or_404(store_id, order_id)).data)

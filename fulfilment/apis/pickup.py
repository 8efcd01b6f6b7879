"""Pickup API: the customer's QR code, and the handoff staff make when they scan it."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from fulfilment import selectors
from fulfilment.permissions import IsStoreStaff
from fulfilment.serializers import HandoffIn, OrderOut
from fulfilment.services import pickup as pickup_services

CONTENT_TYPES = {"png": "image/png", "svg": "image/svg+xml"}


class OrderQrApi(APIView):
    permission_classes = [IsAuthenticated]

    def perform_content_negotiation(self, request, force=False):
        # An <img> asks for images; errors still answer in JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY, (200, "image/svg+xml"): OpenApiTypes.STR,
                              404: OpenApiResponse(description="Not yours or not there"),
                              409: OpenApiResponse(description="Not paid yet, or finished")},
                   summary="Your order's pickup QR code (PNG or SVG)")
    def get(self, request, order_id: int, image_format: str):
        order = selectors.order_get_for_customer_or_404(customer=request.user, order_id=order_id)
        image = pickup_services.pickup_qr(order=order, image_format=image_format)
        response = HttpResponse(image, content_type=CONTENT_TYPES[image_format])
        response["Cache-Control"] = "no-store"  # the token inside is the key to the order
        return response


class HandoffApi(APIView):
    permission_classes = [IsAuthenticated, IsStoreStaff]

    @extend_schema(request=HandoffIn, responses={
        200: OrderOut, 400: OpenApiResponse(description="Forged or expired code"),
        404: OpenApiResponse(description="No such order at this store"),
        409: OpenApiResponse(description="Not ready, already handed over (says when), or the capture failed"),
        429: OpenApiResponse(description="Too many wrong short codes from this staff member at this store; "
                                         "retry after `Retry-After` seconds (QR scans still work)"),
        503: OpenApiResponse(description="Payment provider unreachable; the order is still ready")},
        summary="Hand an order over: scanned QR token, or short code plus name (staff of the store)")
    def post(self, request, store_id: int):
        data = HandoffIn(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        order = pickup_services.pickup_handoff(store_id=store_id, staff=request.user, token=given["token"],
                                               code=given["code"], name=given["name"])
        return Response(OrderOut(selectors.order_list_for_store(store_id=store_id).get(pk=order.pk)).data)

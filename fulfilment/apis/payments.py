"""Payments API: Stripe's webhook, and the customer's view of their order's payment."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from fulfilment import presenters, selectors
from fulfilment.models import Payment
from fulfilment.serializers import OrderOut, OrderPaymentOut
from fulfilment.services import payments as payment_services


class StripeWebhookApi(APIView):
    """Stripe calls this; the signature (Stripe-Signature header) is the only credential."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=None, responses={200: OpenApiResponse(description="Processed, duplicate or ignored"),
                                            400: OpenApiResponse(description="Bad or missing signature")},
                   summary="Stripe webhook (signed by Stripe)")
    def post(self, request):
        outcome = payment_services.payment_webhook_receive(
            provider=Payment.STRIPE, payload=request.body, signature=request.headers.get("Stripe-Signature", ""))
        return Response({"received": True, "outcome": outcome})


class OrderPaymentApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OrderPaymentOut, 404: OpenApiResponse(description="Not yours or not there")},
                   summary="Your order's payment, with what the Payment Element needs to confirm it")
    def get(self, request, order_id: int):
        order = selectors.order_get_for_customer_or_404(customer=request.user, order_id=order_id)
        return Response(OrderPaymentOut(presenters.payment_checkout(order)).data)


class OrderPaymentRefreshApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: OrderOut, 404: OpenApiResponse(description="Not yours or not there"),
                                            503: OpenApiResponse(description="Payment provider unreachable")},
                   summary="Ask the payment provider for the latest state (after confirming in the browser)")
    def post(self, request, order_id: int):
        order = selectors.order_get_for_customer_or_404(customer=request.user, order_id=order_id)
        order = payment_services.payment_refresh(order=order)
        return Response(OrderOut(selectors.order_get_for_customer(customer=request.user, order_id=order.pk)).data)

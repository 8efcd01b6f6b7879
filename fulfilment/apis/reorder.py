"""Order again: one of the customer's past orders as a cart for today."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from fulfilment import selectors
from fulfilment.customer_serializers import ReorderOut
from fulfilment.services.reorder import order_reorder

SIGNED_OUT = {401: OpenApiResponse(description="Not signed in: send `Authorization: Token <key>`")}


class OrderReorderApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: ReorderOut, 404: OpenApiResponse(description="Not yours or not there"),
                              **SIGNED_OUT},
                   summary="Order again: the order's lines re-priced for today, and what changed")
    def get(self, request, order_id: int):
        order = selectors.order_get_for_customer_or_404(customer=request.user, order_id=order_id)
        return Response(ReorderOut(order_reorder(order=order)).data)

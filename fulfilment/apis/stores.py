"""The store cards of the customer app: each store (stores.StoreOut) with the kitchen's current ASAP wait.

These two endpoints live here rather than in `stores` because the wait comes from the scheduler, and
`stores` knows nothing of orders or kitchens (DESIGN.md); the store's own data still comes from
`stores.selectors` and `stores.serializers`. The menu stays in `stores.apis`.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from fulfilment.selectors import store_asap_waits
from fulfilment.serializers import StoreCardOut
from stores.selectors import store_list, store_list_near

NOT_FOUND = {404: OpenApiResponse(description="No such store")}


def _parse_near(raw: str) -> tuple[float, float]:
    try:
        lat_text, lng_text = raw.split(",")
        lat, lng = float(lat_text), float(lng_text)
    except ValueError:
        raise serializers.ValidationError({"near": "Use near=<latitude>,<longitude>, e.g. near=45.52,-122.68."})
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise serializers.ValidationError({"near": "Latitude must be within ±90 and longitude within ±180."})
    return lat, lng


class StoreListApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("near", OpenApiTypes.STR, description="`lat,lng`: nearest stores first")],
        responses={200: StoreCardOut(many=True), 400: OpenApiResponse(description="Malformed `near`")},
        summary="List stores, with opening state, tax and the current ASAP wait")
    def get(self, request):
        near = request.query_params.get("near")
        stores = (store_list_near(latitude=(point := _parse_near(near))[0], longitude=point[1]) if near
                  else list(store_list()))
        return Response(StoreCardOut(stores, many=True, context={"asap_waits": store_asap_waits(stores=stores)}).data)


class StoreDetailApi(APIView):
    @extend_schema(responses={200: StoreCardOut, **NOT_FOUND}, summary="One store")
    def get(self, request, store_id: int):
        store = get_object_or_404(store_list(), pk=store_id)
        return Response(StoreCardOut(store, context={"asap_waits": store_asap_waits(stores=[store])}).data)

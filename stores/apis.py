"""Public read API for stores and their live menus."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from stores.selectors import store_list, store_list_near, store_menu
from stores.serializers import StoreMenuOut, StoreOut

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
        responses={200: StoreOut(many=True), 400: OpenApiResponse(description="Malformed `near`")},
        summary="List stores")
    def get(self, request):
        near = request.query_params.get("near")
        stores = store_list_near(latitude=(point := _parse_near(near))[0], longitude=point[1]) if near else store_list()
        return Response(StoreOut(stores, many=True).data)


class StoreDetailApi(APIView):
    @extend_schema(responses={200: StoreOut, **NOT_FOUND}, summary="One store")
    def get(self, request, store_id: int):
        store = get_object_or_404(store_list(), pk=store_id)
        return Response(StoreOut(store).data)


class StoreMenuApi(APIView):
    @extend_schema(responses={200: StoreMenuOut, **NOT_FOUND},
                   summary="The store's live menu with availability and stock")
    def get(self, request, store_id: int):
        store = get_object_or_404(store_list(), pk=store_id)
        return Response(StoreMenuOut({"store": store, "categories": store_menu(store=store)}).data)

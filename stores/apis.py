"""Public read API for a store's live menu. The store list and detail (store cards, with the kitchen's
ASAP wait) are served by fulfilment.apis.stores, which builds on this app's selectors and serializers."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from stores.selectors import store_list, store_menu
from stores.serializers import StoreMenuOut

NOT_FOUND = {404: OpenApiResponse(description="No such store")}


class StoreMenuApi(APIView):
    @extend_schema(responses={200: StoreMenuOut, **NOT_FOUND},
                   summary="The store's live menu with availability and stock")
    def get(self, request, store_id: int):
        store = get_object_or_404(store_list(), pk=store_id)
        return Response(StoreMenuOut({"store": store, "categories": store_menu(store=store)}).data)

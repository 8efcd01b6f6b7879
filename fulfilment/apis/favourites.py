"""A customer's favourites: list them (priced and checked today), save one, remove one."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from fulfilment.customer_serializers import FavouriteIn, FavouriteOut
from fulfilment.services import favourites

SIGNED_OUT = {401: OpenApiResponse(description="Not signed in: send `Authorization: Token <key>`")}


class FavouriteListApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: FavouriteOut(many=True), **SIGNED_OUT},
                   summary="Your favourites, newest first, with today's price and availability")
    def get(self, request):
        return Response(FavouriteOut(favourites.favourite_list_for_customer(user=request.user), many=True).data)

    @extend_schema(request=FavouriteIn, responses={
        201: FavouriteOut, 200: OpenApiResponse(FavouriteOut, description="Already a favourite: that one"),
        400: OpenApiResponse(description="Not a line a cart could take (unknown item, quantity, modifiers)"),
        409: OpenApiResponse(description="Unavailable now (86'd, sold out, option unavailable), or too many "
                                         "favourites"), **SIGNED_OUT},
        summary="Save an item with its modifiers as a favourite (checked like a cart line)")
    def post(self, request):
        data = FavouriteIn(data=request.data)
        data.is_valid(raise_exception=True)
        favourite, created = favourites.favourite_add(
            user=request.user, item_id=data.validated_data["item"], quantity=data.validated_data["quantity"],
            option_ids=data.validated_data["modifiers"])
        view = favourites.favourite_get_for_customer(user=request.user, favourite_id=favourite.pk)
        return Response(FavouriteOut(view).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class FavouriteDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None, 404: OpenApiResponse(description="Not yours or not there"),
                                            **SIGNED_OUT}, summary="Remove one of your favourites")
    def delete(self, request, favourite_id: int):
        favourites.favourite_delete(user=request.user, favourite_id=favourite_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

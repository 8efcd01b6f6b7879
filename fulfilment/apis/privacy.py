"""The customer's own data: download it all, or delete the account (fulfilment.services.privacy)."""

import json

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from fulfilment.services.privacy import member_account_delete, member_data_export
from orderahead.throttling import ScopedRateThrottle

SIGNED_OUT = {401: OpenApiResponse(description="Not signed in: send `Authorization: Token <key>`")}


class AccountDeleteIn(serializers.Serializer):
    password = serializers.CharField(max_length=128, trim_whitespace=False,
                                     help_text="The account's password, asked again to confirm")


class AccountDeletedOut(serializers.Serializer):
    deleted = serializers.BooleanField()
    orders_anonymised = serializers.IntegerField(help_text="Orders kept for the store's books, without your name")
    stars_closed = serializers.IntegerField(help_text="The stars balance closed with the account")


class MyDataApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT, **SIGNED_OUT},
                   summary="Download everything kept about you (a JSON file)")
    def get(self, request):
        data = member_data_export(member=request.user)
        stamp = timezone.now().strftime("%Y%m%d")
        response = HttpResponse(json.dumps(data, indent=2, ensure_ascii=False),
                                content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="my-order-ahead-data-{stamp}.json"'
        response["Cache-Control"] = "no-store"
        return response


class AccountDeleteApi(APIView):
    permission_classes = [IsAuthenticated]
    # The password is checked here: limited like sign-in, so this is no way to guess it.
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=AccountDeleteIn,
                   responses={200: AccountDeletedOut, 400: OpenApiResponse(description="No password sent"),
                              403: OpenApiResponse(description="Wrong password"),
                              409: OpenApiResponse(description="Open orders, or a staff account"), **SIGNED_OUT},
                   summary="Delete your account (your orders stay for the store's books, without your name)")
    def post(self, request):
        data = AccountDeleteIn(data=request.data)
        data.is_valid(raise_exception=True)
        done = member_account_delete(member=request.user, password=data.validated_data["password"])
        return Response(AccountDeletedOut({"deleted": True, **done}).data)

"""Members API (issue 28): the member code a customer shows, the scan staff make of it, and the customer's own
loyalty card (balance, rewards, history, the phone staff may type instead of scanning)."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from fulfilment.permissions import IsStoreStaff
from fulfilment.services import members
from orderahead.throttling import ScopedRateThrottle
from stores.models import Store

SIGNED_OUT = {401: OpenApiResponse(description="Not signed in: send `Authorization: Token <key>`")}


# --- Shapes -------------------------------------------------------------------------------------------------------

class MemberCodeOut(serializers.Serializer):
    code = serializers.CharField(help_text="The signed member code to show as a QR code; works once")
    expires_at = serializers.DateTimeField()
    refresh_after_s = serializers.IntegerField(help_text="Fetch a new code after this many seconds")


class RewardOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    stars_cost = serializers.IntegerField()
    max_value_minor = serializers.IntegerField(help_text="The most it takes off an item, in minor units")
    is_birthday = serializers.BooleanField()


class MemberIdentifyIn(serializers.Serializer):
    code = serializers.CharField(max_length=512, required=False, default="", allow_blank=True,
                                 help_text="What the scanner read from the member's QR code")
    phone = serializers.CharField(max_length=40, required=False, default="", allow_blank=True,
                                  help_text="Or the phone number the member registered")

    def validate(self, data):
        if bool(data["code"].strip()) == bool(data["phone"].strip()):
            raise serializers.ValidationError("Give either the scanned member code or the phone number.")
        return data


class ServedMemberOut(serializers.Serializer):
    name = serializers.CharField(help_text="First name, else username")
    balance = serializers.IntegerField(help_text="Stars")


class MemberServingOut(serializers.Serializer):
    serving_token = serializers.CharField(source="token", help_text="Send as `member` with the order "
                                                                    "(POST /api/stores/{id}/orders/); this store only")
    expires_at = serializers.DateTimeField()
    via = serializers.ChoiceField(choices=["code", "phone"])
    member = ServedMemberOut(source="*", help_text="Shown to staff only while serving the member")
    rewards = RewardOut(many=True, help_text="Active rewards the member's stars pay for")


class LoyaltyEntryOut(serializers.Serializer):
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    stars = serializers.IntegerField(help_text="Positive: added; negative: taken")
    reason = serializers.CharField()
    order = serializers.IntegerField(source="order_id", allow_null=True)
    at = serializers.DateTimeField(source="created_at")


class MemberCardOut(serializers.Serializer):
    balance = serializers.IntegerField(help_text="Stars: the sum of the history")
    rewards = RewardOut(many=True, help_text="The chain's active rewards")
    history = LoyaltyEntryOut(many=True, help_text=f"The latest {members.HISTORY_ROWS} changes, newest first")
    phone = serializers.CharField(allow_null=True, help_text="Digits; staff can find you by it at the till")
    birthday = serializers.DateField(allow_null=True)


class MemberCardIn(serializers.Serializer):
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, allow_null=True,
                                  help_text="7 to 15 digits (spaces, dashes and a leading + are fine); "
                                            "empty removes it")
    birthday = serializers.DateField(required=False, allow_null=True, help_text="Set once")


# --- Views --------------------------------------------------------------------------------------------------------

class MemberCodeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: MemberCodeOut, **SIGNED_OUT},
                   summary="A new member code to show at the till (works once, for 2 minutes)")
    def get(self, request):
        code, expires_at = members.member_code_issue(member=request.user)
        response = Response(MemberCodeOut({"code": code, "expires_at": expires_at,
                                           "refresh_after_s": members.CODE_REFRESH_S}).data)
        response["Cache-Control"] = "no-store"
        return response


class MemberCodeQrApi(APIView):
    permission_classes = [IsAuthenticated]

    def perform_content_negotiation(self, request, force=False):
        # An <img> asks for images; errors still answer in JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(responses={(200, "image/svg+xml"): OpenApiTypes.STR, **SIGNED_OUT},
                   summary="A new member code as a QR code (SVG); the code and its end are in the "
                           "X-Member-Code and X-Member-Code-Expires-At headers")
    def get(self, request):
        code, expires_at = members.member_code_issue(member=request.user)
        response = HttpResponse(members.member_code_qr_svg(code=code), content_type="image/svg+xml")
        response["Cache-Control"] = "no-store"  # each fetch is a new code; an old one is useless or used
        response["X-Member-Code"] = code
        response["X-Member-Code-Expires-At"] = expires_at.isoformat()
        return response


class MemberIdentifyApi(APIView):
    permission_classes = [IsAuthenticated, IsStoreStaff]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "member_identify"

    @extend_schema(request=MemberIdentifyIn, responses={
        200: MemberServingOut, 400: OpenApiResponse(description="Not our code, expired, or not a phone number"),
        403: OpenApiResponse(description="Not on the staff of this store"),
        404: OpenApiResponse(description="No member with that phone number"),
        409: OpenApiResponse(description="This code was scanned already (each works once)"),
        429: OpenApiResponse(description="Too many requests; retry after `Retry-After` seconds"), **SIGNED_OUT},
        summary="Identify a member at the till: their scanned code, or their phone (staff of the store)")
    def post(self, request, store_id: int):
        data = MemberIdentifyIn(data=request.data)
        data.is_valid(raise_exception=True)
        store = Store.objects.get(pk=store_id)  # IsStoreStaff found the staff member's store
        serving = members.member_identify(store=store, staff=request.user,
                                          code=data.validated_data["code"].strip() or None,
                                          phone=data.validated_data["phone"].strip() or None)
        return Response(MemberServingOut(serving).data)


class MemberCardApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: MemberCardOut, **SIGNED_OUT},
                   summary="Your stars, the rewards, your latest changes, and your registered phone")
    def get(self, request):
        return Response(MemberCardOut(members.member_card(member=request.user)).data)

    @extend_schema(request=MemberCardIn, responses={
        200: MemberCardOut, 400: OpenApiResponse(description="Not a phone number or a date"),
        409: OpenApiResponse(description="Another member has this phone, or the birthday is set already"),
        **SIGNED_OUT}, summary="Register your phone (staff can find you by it) or your birthday")
    def patch(self, request):
        data = MemberCardIn(data=request.data)
        data.is_valid(raise_exception=True)
        members.member_profile_update(member=request.user, **data.validated_data)
        return Response(MemberCardOut(members.member_card(member=request.user)).data)

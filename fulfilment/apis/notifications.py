"""The customer's notification settings: email consent, and the browsers subscribed to Web Push."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from fulfilment.services import notifications

INVALID = {400: OpenApiResponse(description="Invalid request")}
SIGNED_OUT = {401: OpenApiResponse(description="Not signed in: send `Authorization: Token <key>`")}


class NotificationSettingsOut(serializers.Serializer):
    email = serializers.CharField(help_text="The account's email address; empty when none.")
    email_when_ready = serializers.BooleanField(help_text="Email the customer when an order is ready.")
    push_public_key = serializers.CharField(
        help_text="The VAPID application server key (base64url), for pushManager.subscribe's "
                  "applicationServerKey; empty when the server cannot push.")
    push_subscriptions = serializers.IntegerField(help_text="How many browsers of this account get pushes.")


class NotificationSettingsIn(serializers.Serializer):
    email_when_ready = serializers.BooleanField(required=False)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254,
                                   help_text="Set or replace the account's email address.")


class PushKeysIn(serializers.Serializer):
    p256dh = serializers.CharField(max_length=200)
    auth = serializers.CharField(max_length=100)


class PushSubscriptionIn(serializers.Serializer):
    """The browser's PushSubscription.toJSON()."""

    endpoint = serializers.URLField(max_length=1000)
    keys = PushKeysIn()
    expirationTime = serializers.IntegerField(required=False, allow_null=True)  # noqa: N815 - the browser's name


class PushSubscriptionOut(serializers.Serializer):
    endpoint = serializers.URLField()
    push_subscriptions = serializers.IntegerField(help_text="How many browsers of this account get pushes now.")


class PushEndpointIn(serializers.Serializer):
    endpoint = serializers.URLField(max_length=1000)


class NotificationSettingsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: NotificationSettingsOut, **SIGNED_OUT},
                   summary="Your notification settings, and the key a browser subscribes to pushes with")
    def get(self, request):
        return Response(NotificationSettingsOut(notifications.notification_settings_get(user=request.user)).data)

    @extend_schema(request=NotificationSettingsIn, responses={200: NotificationSettingsOut, **INVALID, **SIGNED_OUT},
                   summary="Turn the order-ready email on or off, or change your email address")
    def patch(self, request):
        data = NotificationSettingsIn(data=request.data)
        data.is_valid(raise_exception=True)
        result = notifications.notification_settings_set(user=request.user, **data.validated_data)
        return Response(NotificationSettingsOut(result).data)


class PushSubscriptionsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=PushSubscriptionIn, responses={201: PushSubscriptionOut, **INVALID, **SIGNED_OUT},
                   summary="Get pushes on this browser (send its PushSubscription.toJSON())")
    def post(self, request):
        data = PushSubscriptionIn(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = notifications.push_subscription_save(
            user=request.user, endpoint=data.validated_data["endpoint"], **data.validated_data["keys"])
        return Response({"endpoint": subscription.endpoint,
                         "push_subscriptions": request.user.push_subscriptions.count()},
                        status=status.HTTP_201_CREATED)

    # OpenAPI 3.0 gives DELETE no request body, so the schema shows the query parameter; the JSON body
    # {"endpoint": ...} of the contract works the same (browsers' fetch sends it, some HTTP clients drop it).
    @extend_schema(parameters=[OpenApiParameter(
                       "endpoint", OpenApiTypes.URI, OpenApiParameter.QUERY, required=False,
                       description='The subscription\'s endpoint; or send it as a JSON body {"endpoint": "..."}.')],
                   responses={204: None, **INVALID, **SIGNED_OUT,
                              404: OpenApiResponse(description="None of your browsers has that endpoint")},
                   summary="Stop pushes to a browser")
    def delete(self, request):
        data = PushEndpointIn(data=request.data or request.query_params)
        data.is_valid(raise_exception=True)
        notifications.push_subscription_delete(user=request.user, endpoint=data.validated_data["endpoint"])
        return Response(status=status.HTTP_204_NO_CONTENT)

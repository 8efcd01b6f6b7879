from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from fulfilment.serializers import LoginIn, RegisterIn, TokenOut
from fulfilment.services.accounts import customer_login, customer_register
from orderahead.throttling import ScopedRateThrottle

THROTTLED = {429: OpenApiResponse(description="Too many attempts; retry after `Retry-After` seconds")}


class RegisterApi(APIView):
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=RegisterIn, responses={201: TokenOut, 400: OpenApiResponse(description="Invalid or weak"),
                                                  409: OpenApiResponse(description="Username taken"), **THROTTLED},
                   summary="Create a customer account")
    def post(self, request):
        data = RegisterIn(data=request.data)
        data.is_valid(raise_exception=True)
        user, token = customer_register(**data.validated_data)
        return Response({"token": token, "username": user.get_username()}, status=status.HTTP_201_CREATED)


class LoginApi(APIView):
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=LoginIn, responses={200: TokenOut, 400: OpenApiResponse(description="Invalid request"),
                                               401: OpenApiResponse(description="Wrong username or password"),
                                               **THROTTLED}, summary="Log in; returns the API token")
    def post(self, request):
        data = LoginIn(data=request.data)
        data.is_valid(raise_exception=True)
        user, token = customer_login(request=request, **data.validated_data)
        return Response({"token": token, "username": user.get_username()})

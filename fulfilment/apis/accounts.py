from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from fulfilment.serializers import LoginIn, RegisterIn, TokenOut
from fulfilment.services.accounts import customer_login, customer_register


class RegisterApi(APIView):
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=RegisterIn, responses={201: TokenOut}, summary="Create a customer account")
    def post(self, request):
        data = RegisterIn(data=request.data)
        data.is_valid(raise_exception=True)
        user, token = customer_register(**data.validated_data)
        return Response({"token": token, "username": user.get_username()}, status=status.HTTP_201_CREATED)


class LoginApi(APIView):
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=LoginIn, responses={200: TokenOut}, summary="Log in; returns the API token")
    def post(self, request):
        data = LoginIn(data=request.data)
        data.is_valid(raise_exception=True)
        user, token = customer_login(**data.validated_data)
        return Response({"token": token, "username": user.get_username()})

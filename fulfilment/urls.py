from django.urls import path

from fulfilment.apis import accounts, orders

urlpatterns = [
    path("auth/register/", accounts.RegisterApi.as_view(), name="auth-register"),
    path("auth/login/", accounts.LoginApi.as_view(), name="auth-login"),
    path("stores/<int:store_id>/quote/", orders.QuoteApi.as_view(), name="store-quote"),
    path("stores/<int:store_id>/orders/", orders.StaffOrderApi.as_view(), name="store-orders"),
    path("orders/", orders.OrderListApi.as_view(), name="order-list"),
    path("orders/<int:order_id>/", orders.OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<int:order_id>/cancel/", orders.OrderCancelApi.as_view(), name="order-cancel"),
]

from django.urls import path

from fulfilment.apis import accounts, favourites, members, notifications, orders, payments, pickup, reorder, stores

urlpatterns = [
    path("auth/register/", accounts.RegisterApi.as_view(), name="auth-register"),
    path("auth/login/", accounts.LoginApi.as_view(), name="auth-login"),
    path("stores/", stores.StoreListApi.as_view(), name="store-list"),
    path("stores/<int:store_id>/", stores.StoreDetailApi.as_view(), name="store-detail"),
    path("stores/<int:store_id>/quote/", orders.QuoteApi.as_view(), name="store-quote"),
    path("stores/<int:store_id>/orders/", orders.StaffOrderApi.as_view(), name="store-orders"),
    path("orders/", orders.OrderListApi.as_view(), name="order-list"),
    path("orders/<int:order_id>/", orders.OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<int:order_id>/cancel/", orders.OrderCancelApi.as_view(), name="order-cancel"),
    path("orders/<int:order_id>/arrival/", orders.OrderArrivalApi.as_view(), name="order-arrival"),
    path("orders/<int:order_id>/reorder/", reorder.OrderReorderApi.as_view(), name="order-reorder"),
    path("favourites/", favourites.FavouriteListApi.as_view(), name="favourite-list"),
    path("favourites/<int:favourite_id>/", favourites.FavouriteDetailApi.as_view(), name="favourite-detail"),
    path("orders/<int:order_id>/payment/", payments.OrderPaymentApi.as_view(), name="order-payment"),
    path("orders/<int:order_id>/payment/refresh/", payments.OrderPaymentRefreshApi.as_view(),
         name="order-payment-refresh"),
    path("orders/<int:order_id>/qr.png", pickup.OrderQrApi.as_view(), {"image_format": "png"}, name="order-qr-png"),
    path("orders/<int:order_id>/qr.svg", pickup.OrderQrApi.as_view(), {"image_format": "svg"}, name="order-qr-svg"),
    path("stores/<int:store_id>/handoff/", pickup.HandoffApi.as_view(), name="store-handoff"),
    path("me/notifications/", notifications.NotificationSettingsApi.as_view(), name="me-notifications"),
    path("me/push-subscriptions/", notifications.PushSubscriptionsApi.as_view(), name="me-push-subscriptions"),
    path("me/member-code/", members.MemberCodeApi.as_view(), name="me-member-code"),
    path("me/member-code.svg", members.MemberCodeQrApi.as_view(), name="me-member-code-svg"),
    path("me/loyalty/", members.MemberCardApi.as_view(), name="me-loyalty"),
    path("stores/<int:store_id>/members/identify/", members.MemberIdentifyApi.as_view(), name="store-member-identify"),
    path("payments/stripe/webhook/", payments.StripeWebhookApi.as_view(), name="stripe-webhook"),
]

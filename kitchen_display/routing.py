"""WebSocket routes for kitchen screens, the pickup board, customer live status, the live menu and the managers'
dashboards."""

from django.urls import path

from kitchen_display import consumers

websocket_urlpatterns = [
    path("ws/kds/<int:store_id>/expo/", consumers.KitchenConsumer.as_asgi(), {"screen": "expo"}),
    path("ws/kds/<int:store_id>/board/", consumers.KitchenConsumer.as_asgi(), {"screen": "board"}),
    path("ws/kds/<int:store_id>/<int:station_id>/", consumers.KitchenConsumer.as_asgi(), {"screen": "station"}),
    path("ws/orders/<int:order_id>/", consumers.OrderConsumer.as_asgi()),
    path("ws/stores/<int:store_id>/menu/", consumers.MenuConsumer.as_asgi()),
    path("ws/dashboard/", consumers.DashboardConsumer.as_asgi()),
]

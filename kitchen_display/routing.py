"""WebSocket routes for kitchen screens and customer live status (filled in by the KDS work)."""

websocket_urlpatterns: list = []

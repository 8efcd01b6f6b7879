"""ASGI entry point: HTTP through Django, WebSockets through the kitchen display routes."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderahead.settings.base")
# Django must be set up before anything imports models (the consumers do).
django_asgi_app = get_asgi_application()

# Static files are served by WhiteNoise inside Django's middleware (settings.SERVE_STATIC), so they carry
# the same security headers as every page.

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from kitchen_display.routing import websocket_urlpatterns  # noqa: E402

from orderahead import readiness  # noqa: E402
from orderahead.env import env_float
from orderahead.graceful_shutdown import GracefulShutdown, install_on_daphne

# Compile (or load from the cache) the scheduler now, not on the first customer's quote; /readyz
# says "compiling" until it is done (orderahead/readiness.py).
if os.environ.get("SCHEDULER_WARM_UP", "1") != "0":
    readiness.start_warm_up()

# SIGTERM drains the worker (orderahead/graceful_shutdown.py): stop listening, close sockets with 1001 so
# screens reconnect elsewhere, let requests in a view finish for up to SHUTDOWN_GRACE_S (under honcho, which
# kills after 5 s, keep it below that; under systemd below TimeoutStopSec).
application = GracefulShutdown(ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
))
install_on_daphne(application, grace_s=env_float("SHUTDOWN_GRACE_S", 4.0, minimum=0.0))

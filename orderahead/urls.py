from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from fulfilment import dashboard_views, pwa
from fulfilment.views import customer_app, email_unsubscribe
from orderahead import metrics, readiness

# Swagger UI comes from drf-spectacular's CDN (its default) with an inline <style>; its start-up script is
# served from /api/docs/?script (the split view), so only this page widens the Content-Security-Policy.
SWAGGER_CDN = "https://cdn.jsdelivr.net"
api_docs = csp_update({"script-src": [SWAGGER_CDN], "style-src": [SWAGGER_CDN, UNSAFE_INLINE],
                       "img-src": [SWAGGER_CDN]})(SpectacularSwaggerSplitView.as_view(url_name="schema"))

urlpatterns = [
    path("healthz", readiness.healthz, name="healthz"),
    path("readyz", readiness.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("api/", include("stores.urls")),
    path("api/", include("fulfilment.urls")),
    path("", include("kitchen_display.urls")),
    path("dashboard/", dashboard_views.dashboard_page, name="dashboard"),
    path("dashboard/orders.csv", dashboard_views.dashboard_orders_csv, name="dashboard-orders-csv"),
    path("dashboard/chart.csv", dashboard_views.dashboard_chart_csv, name="dashboard-chart-csv"),
    path("notifications/unsubscribe/<str:token>/", email_unsubscribe, name="notifications-unsubscribe"),
    # At the root, so the service worker's scope is the whole customer app.
    path("manifest.webmanifest", pwa.manifest, name="pwa-manifest"),
    path("sw.js", pwa.service_worker, name="pwa-service-worker"),
    path("", customer_app, name="customer-app"),
]

handler404 = "orderahead.api_errors.not_found"
handler500 = "orderahead.api_errors.server_error"

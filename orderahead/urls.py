from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from fulfilment.views import customer_app
from orderahead import readiness

urlpatterns = [
    path("healthz", readiness.healthz, name="healthz"),
    path("readyz", readiness.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("stores.urls")),
    path("api/", include("fulfilment.urls")),
    path("", include("kitchen_display.urls")),
    path("", customer_app, name="customer-app"),
]

handler404 = "orderahead.api_errors.not_found"
handler500 = "orderahead.api_errors.server_error"

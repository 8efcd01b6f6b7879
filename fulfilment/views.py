"""The customer web app: one page that talks to the REST API (no business logic here)."""

from django.conf import settings
from django.shortcuts import render


def customer_app(request):
    return render(request, "fulfilment/app.html", {"demo_payments": not settings.STRIPE_SECRET_KEY})

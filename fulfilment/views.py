"""The customer web app: one page that talks to the REST API (no business logic here)."""

from django.conf import settings
from django.shortcuts import render


def customer_app(request):
    # Stripe's Payment Element (and stripe.js from js.stripe.com) only when a publishable key is configured.
    return render(request, "fulfilment/app.html", {
        "demo_payments": not settings.STRIPE_SECRET_KEY,
        "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY if settings.STRIPE_SECRET_KEY else ""})

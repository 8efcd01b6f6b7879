"""The customer web app: one page that talks to the REST API (no business logic here), and the page an email's
unsubscribe link opens."""

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from fulfilment.services import notifications
from orderahead.errors import DomainError


def customer_app(request):
    # Stripe's Payment Element (and stripe.js from js.stripe.com) only when a publishable key is configured.
    return render(request, "fulfilment/app.html", {
        "demo_payments": not settings.STRIPE_SECRET_KEY,
        "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY if settings.STRIPE_SECRET_KEY else ""})


# No CSRF token: the link's signed token is the authority, and mail apps' one-click unsubscribe (RFC 8058) POSTs
# "List-Unsubscribe=One-Click" to this URL from outside any page. GET only asks, so a link scanner that opens
# every link in a mailbox does not unsubscribe anyone.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def email_unsubscribe(request, token: str):
    try:
        if request.method == "POST":
            notifications.email_unsubscribe(token=token)
            context, status = {"state": "done", "title": "You are unsubscribed"}, 200
        else:
            notifications.email_unsubscribe_user(token=token)
            context, status = {"state": "confirm", "title": "Stop order-ready emails?"}, 200
    except DomainError as error:
        context, status = {"state": "error", "title": "This link does not work", "message": error.message}, 400
    response = render(request, "fulfilment/unsubscribe.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response

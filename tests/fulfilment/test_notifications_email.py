"""A customer who asked for it gets one email when the order is ready, through a real (local) SMTP server: with
the pickup code, the store and a link to the order, and the headers that give mail apps a one-click unsubscribe.
The unsubscribe link asks first (GET) and turns the emails off on POST, with no sign-in; a bad link says so."""

import pytest
from django.core import signing
from django.test import Client, override_settings

from fulfilment import services
from fulfilment.models import Channel, CustomerProfile, OrderNotification
from fulfilment.pickup_codes import pickup_code
from fulfilment.services import LineRequest, notifications
from stores.models import Store
from tests.fulfilment.notification_doubles import MailServer, free_port

N = OrderNotification
BASE = "https://coffee.example"


@pytest.fixture
def mail_server():
    with MailServer() as server, override_settings(**server.settings, PUBLIC_BASE_URL=BASE,
                                                   DEFAULT_FROM_EMAIL="Order ahead <orders@coffee.example>"):
        yield server


@pytest.fixture
def placed_order(menu, barista_store1, customer_a):
    Store.objects.filter(pk=menu["latte"].store_id).update(address="1 Pearl St, Portland")
    order, _ = services.order_place(store_id=menu["latte"].store_id, channel=Channel.COUNTER, customer=customer_a,
                                    lines=[LineRequest(item_id=menu["croissant"].pk, quantity=1)],
                                    placed_by=barista_store1)
    return order


@pytest.fixture
def consenting(customer_a, api_as):
    answer = api_as(customer_a).patch("/api/me/notifications/", {"email": "jane@example.com",
                                                                 "email_when_ready": True}, format="json")
    assert answer.status_code == 200, answer.content
    customer_a.refresh_from_db()
    return customer_a


def bump(order, barista, capture):
    with capture(execute=True):
        services.order_mark_ready(order=order, actor=barista)


@pytest.mark.django_db
def test_one_email_on_ready_with_the_code_the_store_and_the_unsubscribe_headers(
        mail_server, consenting, placed_order, barista_store1, django_capture_on_commit_callbacks):
    bump(placed_order, barista_store1, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):  # a recall and a second bump send nothing more
        services.order_recall(order=placed_order, actor=barista_store1)
        services.order_mark_ready(order=placed_order, actor=barista_store1)

    assert len(mail_server.inbox.messages) == 1
    message, = mail_server.inbox.messages
    assert mail_server.inbox.recipients == [["jane@example.com"]]
    assert message["Subject"] == f"Your order #{placed_order.pk} is ready"
    assert message["From"] == "Order ahead <orders@coffee.example>"
    unsubscribe = message["List-Unsubscribe"].strip()  # a long header is folded onto a second line
    assert unsubscribe.startswith(f"<{BASE}/notifications/unsubscribe/") and unsubscribe.endswith("/>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    code = pickup_code(order=placed_order)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for body in (text, html):
        assert code in body
        assert "Store One" in body
        assert "1 Pearl St, Portland" in body
        assert f"{BASE}/#/order/{placed_order.pk}" in body
        assert unsubscribe[1:-1] in body
    row = N.objects.get(order=placed_order, channel=N.EMAIL)
    assert (row.status, row.detail) == (N.SENT, "to jane@example.com")


@pytest.mark.django_db
def test_no_email_without_consent(mail_server, customer_a, placed_order, barista_store1,
                                  django_capture_on_commit_callbacks):
    customer_a.email = "jane@example.com"
    customer_a.save()

    bump(placed_order, barista_store1, django_capture_on_commit_callbacks)

    assert mail_server.inbox.messages == []
    row = N.objects.get(order=placed_order, channel=N.EMAIL)
    assert (row.status, row.detail) == (N.SKIPPED, "no consent")


@pytest.mark.django_db
def test_no_email_when_the_address_was_removed(mail_server, consenting, placed_order, barista_store1,
                                               django_capture_on_commit_callbacks):
    type(consenting).objects.filter(pk=consenting.pk).update(email="")  # e.g. by an admin

    bump(placed_order, barista_store1, django_capture_on_commit_callbacks)

    assert mail_server.inbox.messages == []
    assert N.objects.get(order=placed_order, channel=N.EMAIL).detail == "no email address"


@pytest.mark.django_db
def test_a_mail_server_that_is_down_is_recorded_not_raised(consenting, placed_order, barista_store1,
                                                           django_capture_on_commit_callbacks):
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1",
                           EMAIL_PORT=free_port(), EMAIL_USE_TLS=False):
        bump(placed_order, barista_store1, django_capture_on_commit_callbacks)

    row = N.objects.get(order=placed_order, channel=N.EMAIL)
    assert row.status == N.FAILED
    assert "ConnectionRefusedError" in row.detail


def unsubscribe_path(mail_server) -> str:
    return mail_server.inbox.messages[0]["List-Unsubscribe"].strip()[1:-1].removeprefix(BASE)


@pytest.mark.django_db
def test_the_unsubscribe_link_asks_then_turns_the_email_off(
        mail_server, consenting, placed_order, barista_store1, django_capture_on_commit_callbacks):
    bump(placed_order, barista_store1, django_capture_on_commit_callbacks)
    path = unsubscribe_path(mail_server)
    browser = Client(enforce_csrf_checks=True)  # signed out, no CSRF cookie: a click from the mail app

    page = browser.get(path)
    assert page.status_code == 200
    assert "You will no longer get emails when your orders are ready" in page.text
    assert '<form method="post">' in page.text and "Stop these emails" in page.text
    assert CustomerProfile.objects.get(user=consenting).email_when_ready  # opening the link changes nothing

    done = browser.post(path)
    assert done.status_code == 200
    assert "You are unsubscribed" in done.text
    assert not CustomerProfile.objects.get(user=consenting).email_when_ready


@pytest.mark.django_db
def test_a_mail_apps_one_click_unsubscribe_works(mail_server, consenting, placed_order, barista_store1,
                                                 django_capture_on_commit_callbacks):
    bump(placed_order, barista_store1, django_capture_on_commit_callbacks)

    done = Client(enforce_csrf_checks=True).post(unsubscribe_path(mail_server), "List-Unsubscribe=One-Click",
                                                  content_type="application/x-www-form-urlencoded")

    assert done.status_code == 200
    assert not CustomerProfile.objects.get(user=consenting).email_when_ready


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_bad_unsubscribe_link_gives_a_clear_400_page(consenting, method):
    good = notifications.email_unsubscribe_token(user=consenting)
    forged = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")

    for token in (forged, "nonsense"):
        page = getattr(Client(), method)(f"/notifications/unsubscribe/{token}/")
        assert page.status_code == 400
        assert page["Content-Type"].startswith("text/html")
        assert "This unsubscribe link is not valid" in page.text
    assert CustomerProfile.objects.get(user=consenting).email_when_ready


@pytest.mark.django_db
def test_a_token_made_for_another_purpose_is_refused(consenting):
    other_purpose = signing.dumps({"user": consenting.pk}, salt="fulfilment.pickup-token")

    assert Client().post(f"/notifications/unsubscribe/{other_purpose}/").status_code == 400
    assert CustomerProfile.objects.get(user=consenting).email_when_ready


@pytest.mark.django_db
def test_the_orders_admin_page_shows_what_the_customer_was_told(
        mail_server, consenting, placed_order, barista_store1, admin_client, django_capture_on_commit_callbacks):
    bump(placed_order, barista_store1, django_capture_on_commit_callbacks)

    page = admin_client.get(f"/admin/fulfilment/order/{placed_order.pk}/change/")

    assert page.status_code == 200
    assert "Notifications to the customer" in page.text
    assert "to jane@example.com" in page.text and "no browser subscribed" in page.text

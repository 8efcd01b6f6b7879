"""The customer's notification settings over the API: email consent needs an address, browsers subscribe and
unsubscribe, nobody touches another customer's browsers, and signed-out callers get nothing."""

import pytest

from fulfilment.models import CustomerProfile, PushSubscription
from tests.fulfilment.notification_doubles import Browser, vapid_key_pair

SETTINGS = "/api/me/notifications/"
SUBSCRIPTIONS = "/api/me/push-subscriptions/"
FCM = "https://fcm.googleapis.com/fcm/send/"


@pytest.fixture(autouse=True)
def vapid(settings):
    private, public = vapid_key_pair()
    settings.WEBPUSH_VAPID_PRIVATE_KEY, settings.WEBPUSH_VAPID_PUBLIC_KEY = private, public
    return public


def chrome(name: str) -> Browser:
    return Browser(endpoint=f"{FCM}{name}")


@pytest.mark.django_db
def test_the_settings_of_a_new_customer(customer_a, api_as, vapid):
    answer = api_as(customer_a).get(SETTINGS)

    assert answer.status_code == 200
    assert answer.json() == {"email": "", "email_when_ready": False, "push_public_key": vapid,
                             "push_subscriptions": 0}


@pytest.mark.django_db
def test_email_cannot_be_turned_on_without_an_address(customer_a, api_as):
    answer = api_as(customer_a).patch(SETTINGS, {"email_when_ready": True}, format="json")

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "email_required"
    assert "email" in answer.json()["error"]["fields"]
    assert not CustomerProfile.objects.filter(user=customer_a, email_when_ready=True).exists()


@pytest.mark.django_db
def test_email_on_with_an_address_then_off(customer_a, api_as):
    client = api_as(customer_a)

    on = client.patch(SETTINGS, {"email_when_ready": True, "email": " jane@example.com "}, format="json")
    assert on.status_code == 200
    assert on.json()["email"] == "jane@example.com" and on.json()["email_when_ready"] is True
    customer_a.refresh_from_db()
    assert customer_a.email == "jane@example.com"

    # with consent on, the address cannot just be removed
    assert client.patch(SETTINGS, {"email": ""}, format="json").status_code == 400
    off = client.patch(SETTINGS, {"email_when_ready": False}, format="json")
    assert off.json()["email_when_ready"] is False
    assert client.get(SETTINGS).json()["email"] == "jane@example.com"


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{"email": "not-an-address"}, {"email_when_ready": "perhaps"}])
def test_bad_settings_are_a_400_with_the_field(customer_a, api_as, body):
    answer = api_as(customer_a).patch(SETTINGS, body, format="json")

    assert answer.status_code == 400
    assert set(answer.json()["error"]["fields"]) == set(body)


@pytest.mark.django_db
def test_a_browser_subscribes_again_and_unsubscribes(customer_a, api_as):
    client, browser = api_as(customer_a), chrome("a1")

    first = client.post(SUBSCRIPTIONS, browser.subscription(), format="json")
    assert first.status_code == 201
    assert first.json() == {"endpoint": browser.endpoint, "push_subscriptions": 1}
    renewed = Browser(endpoint=browser.endpoint)  # same endpoint, new keys: one subscription, the new keys
    assert client.post(SUBSCRIPTIONS, renewed.subscription(), format="json").status_code == 201
    assert PushSubscription.objects.get().p256dh == renewed.subscription()["keys"]["p256dh"]
    assert client.get(SETTINGS).json()["push_subscriptions"] == 1

    gone = client.delete(SUBSCRIPTIONS, {"endpoint": browser.endpoint}, format="json")
    assert gone.status_code == 204
    assert not PushSubscription.objects.exists()
    assert client.delete(SUBSCRIPTIONS, {"endpoint": browser.endpoint}, format="json").status_code == 404


@pytest.mark.django_db
def test_unsubscribe_by_query_parameter(customer_a, api_as):
    client, browser = api_as(customer_a), chrome("q1")
    client.post(SUBSCRIPTIONS, browser.subscription(), format="json")

    assert client.delete(f"{SUBSCRIPTIONS}?endpoint={browser.endpoint}").status_code == 204
    assert not PushSubscription.objects.exists()


@pytest.mark.django_db
def test_another_customers_browser_cannot_be_unsubscribed(customer_a, customer_b, api_as):
    browser = chrome("a-only")
    api_as(customer_a).post(SUBSCRIPTIONS, browser.subscription(), format="json")

    answer = api_as(customer_b).delete(SUBSCRIPTIONS, {"endpoint": browser.endpoint}, format="json")

    assert answer.status_code == 404
    assert PushSubscription.objects.get().user == customer_a
    assert api_as(customer_b).get(SETTINGS).json()["push_subscriptions"] == 0


@pytest.mark.django_db
def test_a_browser_signed_in_as_someone_else_moves_to_them(customer_a, customer_b, api_as):
    """The endpoint is the browser's own secret: whoever is signed in on that browser now gets its pushes."""
    browser = chrome("shared-tablet")
    api_as(customer_a).post(SUBSCRIPTIONS, browser.subscription(), format="json")

    api_as(customer_b).post(SUBSCRIPTIONS, browser.subscription(), format="json")

    assert PushSubscription.objects.get().user == customer_b


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", [
    "http://fcm.googleapis.com/fcm/send/x",  # not https
    "https://127.0.0.1/internal",  # the server would POST inside its own network
    "https://fcm.googleapis.com.evil.example/x",
    "https://evil.example/?host=fcm.googleapis.com",
])
def test_only_browser_push_services_are_accepted(customer_a, api_as, endpoint):
    answer = api_as(customer_a).post(SUBSCRIPTIONS, Browser(endpoint=endpoint).subscription(), format="json")

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "push_endpoint_refused"
    assert not PushSubscription.objects.exists()


@pytest.mark.django_db
def test_apple_and_firefox_endpoints_are_accepted(customer_a, api_as):
    for endpoint in ("https://web.push.apple.com/QGuYp", "https://updates.push.services.mozilla.com/wpush/v2/x"):
        answer = api_as(customer_a).post(SUBSCRIPTIONS, Browser(endpoint=endpoint).subscription(), format="json")
        assert answer.status_code == 201, answer.content


@pytest.mark.django_db
@pytest.mark.parametrize("keys", [{"p256dh": "AAAA", "auth": "AAAAAAAAAAAAAAAAAAAAAA"},
                                  {"p256dh": "not base64!", "auth": "x"}, {"p256dh": "x"}, {}])
def test_keys_that_are_not_web_push_keys_are_a_400(customer_a, api_as, keys):
    body = {**chrome("k").subscription(), "keys": keys}

    answer = api_as(customer_a).post(SUBSCRIPTIONS, body, format="json")

    assert answer.status_code == 400
    assert not PushSubscription.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), [("get", SETTINGS), ("patch", SETTINGS), ("post", SUBSCRIPTIONS),
                                              ("delete", SUBSCRIPTIONS)])
def test_signed_out_callers_are_refused(api, method, path):
    answer = getattr(api, method)(path, {}, format="json")

    assert answer.status_code in (401, 403)
    assert "error" in answer.json()

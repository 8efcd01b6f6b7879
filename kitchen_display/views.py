"""Kitchen screens: sign in, pick store and station, then a station screen, the expo screen or the
pickup board. The pages are shells; kds.js fills them from the store's socket. The till page is a shell too:
till.js calls the ordering API with the staff member's session."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.csrf import ensure_csrf_cookie

from fulfilment.channels import policy, staff_channel_choices
from fulfilment.models import Channel
from fulfilment.services.pickup_rules import fulfilment_settings_for
from stores.models import MenuItem, ModifierOption, Station, Store, StoreMembership
from stores.selectors import MAX_ID, store_role

LOGIN_URL = reverse_lazy("kds-login")


class KdsLoginView(auth_views.LoginView):
    template_name = "kitchen_display/login.html"
    redirect_authenticated_user = True
    next_page = reverse_lazy("kds-home")


class KdsLogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("kds-login")


@login_required(login_url=LOGIN_URL)
def kds_home(request):
    """The stores this person works at (a superuser: every store), each with its stations, expo screen and
    pickup board."""
    if request.user.is_superuser:
        roles = [(store, "Chain admin") for store in Store.objects.order_by("name")]
    else:
        roles = [(m.store, m.get_role_display()) for m in
                 StoreMembership.objects.filter(user=request.user).select_related("store").order_by("store__name")]
    stores = [(store, role, list(store.stations.order_by("name"))) for store, role in roles]
    return render(request, "kitchen_display/home.html", {"stores": stores})


def _store_for_staff(request, store_id: int) -> Store:
    if not 1 <= store_id <= MAX_ID:  # a URL may carry any number; the database would choke on it
        raise Http404
    store = get_object_or_404(Store, pk=store_id)
    if store_role(user=request.user, store_id=store.pk) is None:
        raise PermissionDenied("You are not on the staff of this store.")
    return store


def _screen(request, store: Store, screen: str, station: Station | None):
    stations = list(store.stations.order_by("name"))
    items = list(MenuItem.objects.filter(store=store, is_active=True).order_by("station__name", "name")
                 .values("id", "name", "station_id"))
    # The store's modifier options in the order admin and the menu list them, grouped by their group.
    options = list(ModifierOption.objects.filter(group__store=store)
                   .order_by("group__position", "group__name", "group_id", "position", "name")
                   .values("id", "name", "group_id", group_name=F("group__name")))
    socket = f"/ws/kds/{store.pk}/{station.pk if station else screen}/"
    # The config carries no username: the board is a public screen.
    context = {"store": store, "station": station, "screen": screen, "stations": stations, "socket": socket,
               "config": {"socket": socket, "screen": screen, "store": store.pk,
                          "station": station.pk if station else None,
                          "stations": {s.pk: s.name for s in stations}, "items": items, "options": options,
                          "channels": dict(Channel.choices),
                          "badges": {value: policy(value).badge for value in Channel.values},
                          # a ready order on the shelf longer than this turns red on the expo screen
                          "shelf_hold_s": fulfilment_settings_for(store=store).shelf_hold_minutes * 60}}
    template = "kitchen_display/board.html" if screen == "board" else "kitchen_display/screen.html"
    return render(request, template, context)


@login_required(login_url=LOGIN_URL)
@ensure_csrf_cookie
def kds_station(request, store_id: int, station_id: int):
    store = _store_for_staff(request, store_id)
    if not 1 <= station_id <= MAX_ID:
        raise Http404
    station = get_object_or_404(Station, pk=station_id, store=store)
    return _screen(request, store, "station", station)


@login_required(login_url=LOGIN_URL)
@ensure_csrf_cookie
def kds_expo(request, store_id: int):
    return _screen(request, _store_for_staff(request, store_id), "expo", None)


@login_required(login_url=LOGIN_URL)
def kds_board(request, store_id: int):
    return _screen(request, _store_for_staff(request, store_id), "board", None)


# The till's channel buttons, in the order staff meet them; only channels staff place orders on.
TILL_CHANNELS = (Channel.COUNTER, Channel.DRIVE_THRU, Channel.KIOSK)


@login_required(login_url=LOGIN_URL)
@ensure_csrf_cookie
def kds_till(request, store_id: int):
    """Ring up an order paid at the till, now or when collected (the drive-thru window), for a member whose code
    is scanned or for anyone (issue 28). The page calls the same API a till integration does (identify, menu,
    staff orders, adding a member, taking the payment) with the session and its CSRF token."""
    store = _store_for_staff(request, store_id)
    staff_channels = dict(staff_channel_choices())
    channels = [(value, staff_channels[value]) for value in TILL_CHANNELS if value in staff_channels]
    config = {"store": store.pk, "csrf": get_token(request), "channels": channels,
              "pay_when_collected": [value for value, _ in channels if policy(value).may_pay_when_collected],
              "api": {name: reverse(f"store-{name}", kwargs={"store_id": store.pk})
                      for name in ("menu", "member-identify", "orders")}}
    return render(request, "kitchen_display/till.html", {"store": store, "channels": channels, "config": config})

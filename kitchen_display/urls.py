from django.urls import path

from kitchen_display import views

urlpatterns = [
    path("kds/", views.kds_home, name="kds-home"),
    path("kds/login/", views.KdsLoginView.as_view(), name="kds-login"),
    path("kds/logout/", views.KdsLogoutView.as_view(), name="kds-logout"),
    path("kds/<int:store_id>/expo/", views.kds_expo, name="kds-expo"),
    path("kds/<int:store_id>/board/", views.kds_board, name="kds-board"),
    path("kds/<int:store_id>/till/", views.kds_till, name="kds-till"),
    path("kds/<int:store_id>/<int:station_id>/", views.kds_station, name="kds-station"),
]

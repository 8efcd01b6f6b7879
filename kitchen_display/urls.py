from django.urls import path

from kitchen_display import views

urlpatterns = [
    path("", views.home, name="home"),
]

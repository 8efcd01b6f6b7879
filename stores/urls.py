from django.urls import path

from stores import apis

# The store list and detail (GET stores/, stores/<id>/) are fulfilment.urls': they carry the kitchen's wait.
urlpatterns = [
    path("stores/<int:store_id>/menu/", apis.StoreMenuApi.as_view(), name="store-menu"),
]

from django.urls import path

from stores import apis

urlpatterns = [
    path("stores/", apis.StoreListApi.as_view(), name="store-list"),
    path("stores/<int:store_id>/", apis.StoreDetailApi.as_view(), name="store-detail"),
    path("stores/<int:store_id>/menu/", apis.StoreMenuApi.as_view(), name="store-menu"),
]

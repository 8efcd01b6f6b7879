from rest_framework.permissions import BasePermission

from stores.selectors import store_role


class IsStoreStaff(BasePermission):
    """Baristas and managers of the store named in the URL; nobody else, staff of other stores included."""

    message = "You are not on the staff of this store."

    def has_permission(self, request, view) -> bool:
        return store_role(user=request.user, store_id=view.kwargs["store_id"]) is not None

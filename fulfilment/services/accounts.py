"""Customer accounts: sign-up and token login for the app and the API."""

from django.contrib.auth import authenticate, get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token

from orderahead.errors import Conflict, DomainError, TooManyAttempts
from orderahead.login_lockout import lockout_message, retry_after_s


def customer_register(*, username: str, password: str, email: str = "") -> tuple[object, str]:
    """Create a customer account and return (user, API token)."""
    User = get_user_model()
    candidate = User(username=username, email=email)
    try:
        password_validation.validate_password(password, user=candidate)
    except ValidationError as weak:
        raise DomainError(" ".join(weak.messages), code="weak_password", fields={"password": weak.messages}) from None
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict("That username is taken.", code="username_taken", fields={"username": "taken"})
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=password)
            token = Token.objects.create(user=user)
    except IntegrityError:
        raise Conflict("That username is taken.", code="username_taken", fields={"username": "taken"}) from None
    return user, token.key


def customer_login(*, request, username: str, password: str) -> tuple[object, str]:
    """`request` lets the sign-in lock-out (django-axes) count this try against the username and the client's
    address, shared with the KDS and admin sign-in forms."""
    user = authenticate(request, username=username, password=password)
    if user is None and getattr(request, "axes_locked_out", False):
        raise TooManyAttempts(lockout_message(), retry_after_s=retry_after_s(), code="locked_out")
    if user is None or not user.is_active:
        raise DomainError("Wrong username or password.", code="bad_credentials", status=401)
    token, _ = Token.objects.get_or_create(user=user)
    return user, token.key

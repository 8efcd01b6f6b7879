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
    username = _checked_username(User, username)
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


def _checked_username(User, username: str) -> str:
    """The username as the User model stores it (NFKC-normalised, so a fullwidth "Ｊody" is "Jody" and is
    checked for uniqueness as such), or DomainError if the model's own validators refuse it: Django's
    username validator (letters, digits and @/./+/-/_) and the field's maximum length."""
    username = User.normalize_username(username)
    try:
        User._meta.get_field(User.USERNAME_FIELD).run_validators(username)
    except ValidationError as refused:
        raise DomainError(" ".join(refused.messages), code="invalid_username",
                          fields={"username": refused.messages}) from None
    return username


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

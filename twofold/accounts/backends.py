"""Password authentication through Django's ModelBackend, refusing blocked users.

ModelBackend already hashes a dummy password for an unknown user name, so a sign-in
with an unknown user takes as long as one with a wrong password.
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from twofold.accounts.models import User


class PasswordBackend(ModelBackend):
    def user_can_authenticate(self, user: User) -> bool:  # type: ignore[override]
        return user.can_sign_in

    def get_user(self, user_id: int) -> User | None:
        user = super().get_user(user_id)
        return user if user is not None and user.can_sign_in else None

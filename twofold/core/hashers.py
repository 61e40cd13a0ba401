"""The password hasher: Django's Argon2id, at a cost taken from configuration.

Django rehashes a stored password on the next successful sign-in whenever these
parameters change, so raising the cost needs no migration.
"""

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idHasher(Argon2PasswordHasher):
    # Keeps Django's algorithm name "argon2": stored hashes stay standard PHC strings.

    @property
    def time_cost(self) -> int:  # type: ignore[override]
        return settings.TWOFOLD["argon2"][0]

    @property
    def memory_cost(self) -> int:  # type: ignore[override]
        return settings.TWOFOLD["argon2"][1]

    @property
    def parallelism(self) -> int:  # type: ignore[override]
        return settings.TWOFOLD["argon2"][2]

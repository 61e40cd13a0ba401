from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DirectoryConfig(AppConfig):
    name = "twofold.directory"
    label = "directory"
    verbose_name = _("Directory")

    def ready(self) -> None:
        from twofold.accounts import backends
        from twofold.directory import passwords

        # Directory users' passwords are checked by their directory, on every path.
        if passwords.check_user not in backends.password_checkers:
            backends.password_checkers.append(passwords.check_user)
        # ...and on the ways in without a password, their account's state (disabled, gone).
        if passwords.check_standing not in backends.standing_checkers:
            backends.standing_checkers.append(passwords.check_standing)
        # ...and twofold neither sets nor hands out links to set their passwords.
        if passwords.kept_users not in backends.password_keepers:
            backends.password_keepers.append(passwords.kept_users)

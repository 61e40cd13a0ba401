"""Which scopes an application may ask for: the ones its administrator allowed."""

from __future__ import annotations

from oauth2_provider.scopes import BaseScopes
from oauth2_provider.settings import oauth2_settings


class ApplicationScopes(BaseScopes):
    def get_all_scopes(self) -> dict[str, str]:
        return oauth2_settings.SCOPES

    def get_available_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        every = list(oauth2_settings.SCOPES)
        if application is None:  # discovery: everything twofold offers
            return every
        return [scope for scope in every if scope in application.allowed_scopes]

    def get_default_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        return list(oauth2_settings.DEFAULT_SCOPES)

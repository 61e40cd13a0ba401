"""The session engine without Redis: sessions in the database only, written as seldom as
``twofold.core.sessions`` writes them (its ``DatabaseStore``)."""

from twofold.core.sessions import DatabaseStore as SessionStore

__all__ = ["SessionStore"]

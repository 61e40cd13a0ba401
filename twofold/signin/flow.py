"""The session's challenge: kept with the methods (methods/flow.py), whose own pages
(proving a new phone number) need it too; the sign-in pages use it from here."""

from twofold.methods.flow import current, forget, remember

__all__ = ["current", "forget", "remember"]

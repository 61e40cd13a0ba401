"""Finding users: search, filters and keyset paging that stay fast at a million users.

Pages are fetched in user-name order after (or before) a user name, using the
(organisation, username) index: no OFFSET, no COUNT(*) over the organisation.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from functools import reduce

from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from twofold.accounts.models import MfaState, User
from twofold.methods import base

PAGE_SIZE = 50


class UserFilter(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    mfa_state = forms.ChoiceField(
        label=_("Two-step verification"),
        required=False,
        choices=[("", _("Any state")), *MfaState.choices],
    )
    methods = forms.ChoiceField(
        label=_("Methods"),
        required=False,
        choices=[("", _("Any")), ("yes", _("Has methods")), ("no", _("No methods"))],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # And one choice per method one registers (passkeys, hardware tokens, ...).
        self.fields["methods"].choices = [
            *self.fields["methods"].choices,
            *((f"has:{key}", title) for key, title in base.filterable_methods()),
        ]

    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any")), ("locked", _("Locked out")), ("blocked", _("Blocked"))],
    )

    def narrows(self) -> bool:
        """Whether any criterion is set: if not, "all that match" is the whole organisation."""
        return self.is_valid() and any(str(value).strip() for value in self.cleaned_data.values())

    def apply(self, users: QuerySet[User]) -> QuerySet[User]:
        """The users that match the filter (all of them: the bulk actions use this too)."""
        if not self.is_valid():
            return users
        data = self.cleaned_data
        if query := data["q"].strip():
            users = users.filter(
                Q(username__startswith=query.lower()) | Q(display_name__icontains=query)
            )
        if data["mfa_state"]:
            users = users.filter(mfa_state=data["mfa_state"])
        if data["methods"].startswith("has:"):
            ids = base.users_with_method(data["methods"].removeprefix("has:"))
            users = users.filter(Exists(ids.filter(user_id=OuterRef("pk"))))
        elif data["methods"]:
            # EXISTS per user, never NOT IN (subquery): PostgreSQL can't turn NOT IN into an
            # anti-join, and over a million users it compared every user with every method.
            registered = [
                Exists(ids.filter(user_id=OuterRef("pk"))) for ids in base.users_with_methods()
            ]
            if data["methods"] == "yes":
                users = users.filter(reduce(operator.or_, registered))
            else:
                users = users.filter(*(~exists for exists in registered))
        if data["status"] == "locked":
            # "not null" too: the partial index of users ever locked serves this page.
            users = users.filter(
                mfa_locked_until__isnull=False, mfa_locked_until__gt=timezone.now()
            )
        elif data["status"] == "blocked":
            users = users.filter(is_blocked=True)
        return users


@dataclass(frozen=True)
class Page:
    users: list[User]
    kinds: dict[int, list[str]]
    previous: str | None  # the user name to page back before
    next: str | None  # the user name to page on after


def page_of(users: QuerySet[User], *, after: str = "", before: str = "") -> Page:
    """One page in user-name order, one row more than shown to know if another follows."""
    if before:
        rows = list(users.filter(username__lt=before).order_by("-username")[: PAGE_SIZE + 1])
        more_before = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE][::-1]
        has_previous, has_next = more_before, True
    else:
        query = users.filter(username__gt=after) if after else users
        rows = list(query.order_by("username")[: PAGE_SIZE + 1])
        has_next = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        has_previous = bool(after)
    return Page(
        users=rows,
        kinds=base.kinds_for([user.pk for user in rows]),
        previous=rows[0].username if rows and has_previous else None,
        next=rows[-1].username if rows and has_next else None,
    )

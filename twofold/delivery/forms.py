from __future__ import annotations

from django import forms

from twofold.delivery.outbox import Answer


class AnswerForm(forms.Form):
    """Which button the person pressed on a ringing outbox call."""

    answer = forms.ChoiceField(choices=Answer.choices)

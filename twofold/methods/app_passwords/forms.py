from django import forms
from django.utils.translation import gettext_lazy as _


class AppPasswordForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=60,
        help_text=_("The app or device that will use it, for example “Mail on my laptop”."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )

"""Why a request failed validation, in the client's language (issue 16 item 16).

pydantic explains its errors in English only; each kind of error it can report on our
schemas has its sentence here, in pydantic's English wording (so English answers read as
before), translated like every other message. A kind not listed gets a general sentence,
never pydantic's English.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_noop as _

_SENTENCES = {
    "missing": _("Field required"),
    "string_type": _("Input should be a valid string"),
    "string_unicode": _("Input should be a valid string"),
    "int_type": _("Input should be a valid integer"),
    "int_parsing": _("Input should be a valid integer, unable to parse string as an integer"),
    "int_parsing_size": _("Input should be a valid integer"),
    "int_from_float": _("Input should be a valid integer, got a number with a fractional part"),
    "float_type": _("Input should be a valid number"),
    "float_parsing": _("Input should be a valid number, unable to parse string as a number"),
    "finite_number": _("Input should be a finite number"),
    "bool_type": _("Input should be a valid boolean"),
    "bool_parsing": _("Input should be a valid boolean, unable to interpret input"),
    "greater_than_equal": _("Input should be greater than or equal to %(ge)s"),
    "less_than_equal": _("Input should be less than or equal to %(le)s"),
    "greater_than": _("Input should be greater than %(gt)s"),
    "less_than": _("Input should be less than %(lt)s"),
    "literal_error": _("Input should be %(expected)s"),
    "enum": _("Input should be %(expected)s"),
    "uuid_parsing": _("Input should be a valid UUID"),
    "uuid_type": _("Input should be a valid UUID"),
    "uuid_version": _("Input should be a valid UUID"),
    "datetime_type": _("Input should be a valid datetime"),
    "datetime_parsing": _("Input should be a valid datetime"),
    "dict_type": _("Input should be an object"),
    "model_type": _("Input should be an object"),
    "model_attributes_type": _("Input should be an object"),
    "list_type": _("Input should be a valid list"),
    "extra_forbidden": _("Extra inputs are not permitted"),
    "string_pattern_mismatch": _("String should match pattern '%(pattern)s'"),
    "none_required": _("Input should be null"),
}
_GENERAL = _("This value is not valid.")


def sentence(error: dict[str, Any]) -> str:
    """One pydantic error (an item of ``ValidationError.errors``) in the active language."""
    kind, context = error.get("type", ""), error.get("ctx") or {}
    if kind in ("string_too_long", "string_too_short"):
        return _length(kind, context)
    if kind in ("value_error", "assertion_error") and "error" in context:
        return str(context["error"])  # our own validators' messages, already translated
    template = _SENTENCES.get(kind, _GENERAL)
    try:
        return gettext(template) % {key: _shown(value) for key, value in context.items()}
    except (KeyError, TypeError, ValueError):  # a context this template does not expect
        return gettext(_GENERAL)


def _length(kind: str, context: dict[str, Any]) -> str:
    if kind == "string_too_long":
        limit = int(context.get("max_length", 0))
        text = ngettext(
            "String should have at most %(limit)d character",
            "String should have at most %(limit)d characters",
            limit,
        )
    else:
        limit = int(context.get("min_length", 0))
        text = ngettext(
            "String should have at least %(limit)d character",
            "String should have at least %(limit)d characters",
            limit,
        )
    return text % {"limit": limit}


def _shown(value: Any) -> str:
    # pydantic's "expected" already names the choices ("'a', 'b' or 'c'"): the "or" is
    # translated, the quoted choices are codes and stay as they are.
    text = str(value)
    return text.replace(" or ", gettext(" or "))

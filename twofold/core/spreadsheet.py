"""Cells of CSV files that administrators open in a spreadsheet (OWASP: CSV injection).

A cell that starts with = + - @ (or a tab or carriage return, which some spreadsheets
skip before looking) would be run as a formula. Imports refuse such cells; exports
write them with a leading apostrophe so they show as text.
"""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def starts_formula(text: str) -> bool:
    return text.startswith(FORMULA_START)


def escape_cell(value: object) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula; None is empty."""
    text = "" if value is None else str(value)
    return "'" + text if starts_formula(text) else text

"""Checking an uploaded logo: a small PNG, or an SVG with nothing active in it.

An SVG is XML that browsers may run scripts from, so it is refused outright if it holds
a script, an event handler, an external reference, embedded HTML, or a DTD (the door to
entity tricks). Whatever passes is still served with a sandboxing Content-Security-Policy.
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ElementTree

from django.utils.translation import gettext as _

from twofold.core.errors import InvalidInput

MAX_BYTES = 256 * 1024
MAX_SIDE = 2048
_PNG = b"\x89PNG\r\n\x1a\n"
_ACTIVE_ELEMENTS = {"script", "foreignobject", "iframe", "object", "embed", "handler", "listener"}
_LINK_ATTRIBUTES = {"href", "xlink:href", "src"}


def check(data: bytes) -> str:
    """The content type of an acceptable logo; InvalidInput saying why otherwise."""
    if not data:
        raise InvalidInput(_("The file is empty."), field="logo")
    if len(data) > MAX_BYTES:
        raise InvalidInput(_("A logo can be at most 256 KB."), field="logo")
    if data.startswith(_PNG):
        _check_png(data)
        return "image/png"
    head = data[:512].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml")):
        _check_svg(data)
        return "image/svg+xml"
    raise InvalidInput(_("Upload the logo as a PNG or SVG file."), field="logo")


def _check_png(data: bytes) -> None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise InvalidInput(_("This PNG file is damaged."), field="logo")
    width, height = struct.unpack(">II", data[16:24])
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise InvalidInput(_("A logo can be at most 2048 pixels wide and high."), field="logo")


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].lower()


def _check_svg(data: bytes) -> None:
    lowered = data.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise InvalidInput(_("SVG logos may not contain a DTD."), field="logo")
    try:
        root = ElementTree.fromstring(data)  # noqa: S314 - no DTD can reach the parser
    except ElementTree.ParseError:
        raise InvalidInput(_("This SVG file is not well-formed."), field="logo") from None
    if _local(root.tag) != "svg":
        raise InvalidInput(_("Upload the logo as a PNG or SVG file."), field="logo")
    for element in root.iter():
        if _local(element.tag) in _ACTIVE_ELEMENTS:
            raise InvalidInput(
                _("SVG logos may not contain scripts or embedded content."), field="logo"
            )
        if _local(element.tag) == "style":
            _check_css("".join(element.itertext()))
        for name, value in element.attrib.items():
            attribute = _local(name)
            if attribute.startswith("on"):
                raise InvalidInput(
                    _("SVG logos may not contain scripts or event handlers."), field="logo"
                )
            is_link = attribute in _LINK_ATTRIBUTES or name.endswith("}href")
            if is_link and not value.strip().startswith("#"):
                raise InvalidInput(
                    _("SVG logos may not refer to other files or addresses."), field="logo"
                )
            if "javascript:" in value.lower():
                raise InvalidInput(
                    _("SVG logos may not refer to other files or addresses."), field="logo"
                )
            # Any attribute may hold CSS (style, fill="url(…)", filter=…): the same check as
            # style sheets, so "url(#a) url(https://…)" or an escape hides nothing.
            if not is_link:
                _check_css(value)


def _check_css(text: str) -> None:
    """Style sheets and style attributes: no import, no address, no escape to hide one.

    CSS escapes (``\\75 rl(``) spell any word, so a backslash is refused outright; so is
    anything that loads from elsewhere (``@import``, ``url(`` other than ``url(#…)``,
    ``image-set(``, ``@font-face``) and IE's ``expression(``.
    """
    css = "".join(text.lower().split())  # "url ( x )" and "url(x)" alike
    loads = css.replace('"', "").replace("'", "").replace("url(#", "")  # url("#a") is local
    if "\\" in css or any(word in loads for word in _CSS_LOADS):
        raise InvalidInput(_("SVG logos may not refer to other files or addresses."), field="logo")


_CSS_LOADS = ("@import", "url(", "image-set(", "image(", "@font-face", "expression(", "src(")

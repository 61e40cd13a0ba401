"""A gateway for tests, chosen by dotted path like any other: every send fails."""

from __future__ import annotations

from twofold.delivery.base import Call, Gateway, GatewayError, Receipt, Text


class UnreachableGateway(Gateway):
    name = "unreachable"

    def send_text(self, text: Text) -> Receipt:
        raise GatewayError("the network is down")

    def place_call(self, call: Call) -> Receipt:
        raise GatewayError("the network is down")

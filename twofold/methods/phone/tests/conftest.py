import pytest

from twofold.delivery.models import OutboxKind, OutboxMessage
from twofold.methods.phone import services as phone_services

AUTH_NUMBER = "+14255550134"
OFFICE_NUMBER = "+14255550199"


@pytest.fixture
def with_phone(user):
    phone_services.set_number(user, "authentication", AUTH_NUMBER, mode="text")
    return user


@pytest.fixture
def outbox():
    class Outbox:
        def texts(self):
            return list(OutboxMessage.objects.filter(kind=OutboxKind.TEXT).order_by("-id"))

        def calls(self):
            return list(OutboxMessage.objects.filter(kind=OutboxKind.CALL).order_by("-id"))

        def last_code(self) -> str:
            import re

            return re.search(r"\b(\d{6})\b", self.texts()[0].body).group(1)

    return Outbox()

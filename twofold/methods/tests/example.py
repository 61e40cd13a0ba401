"""A method that exists only in the tests: what a new package declares, end to end.

It offers one BROWSER option, "example": starting it keeps the expected answer in the
challenge's payload, its prompt template holds the answer's hidden box, and its answers
are JSON objects the method parses itself (as a WebAuthn assertion would be).
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from twofold.core.crypto import constant_time_equals
from twofold.methods import enrolment
from twofold.methods.base import (
    AdminItem,
    Enrolment,
    Interaction,
    Method,
    Option,
    OptionSpec,
    PolicyKind,
)

KIND = "example"
PROMPT = "example/prompt.html"
HTML = '<p data-testid="example-prompt">Answer {{ prompt.question }}</p>'
PANEL = "example/panel.html"
PANEL_HTML = '<section data-testid="example-panel">{{ panel.count }} examples</section>'
#: Who registered the example (the tests' stand-in for a method's own table).
REGISTERED: set[int] = set()


class ExampleMethod(Method):
    key = "example"
    policy_kinds = (PolicyKind(KIND, "Example kind", default=False),)
    catalogue = (
        OptionSpec("example", KIND, "Use the example", amr=("hwk", "user"), admin_label="Ex"),
    )
    audit_actions = (("example.made", "Example made"),)
    prompt_template = PROMPT
    settings_template = PANEL

    def options(self, user):
        if user.pk not in REGISTERED:
            return []
        return [
            Option(
                key="example",
                method=self.key,
                policy_kind=KIND,
                interaction=Interaction.BROWSER,
                label="Use the example",
                prompt="Use the example",
                code_max_length=2000,
            )
        ]

    def start(self, challenge):
        challenge.payload = {"expected": "right", "question": "the riddle"}
        challenge.save(update_fields=["payload"])

    def prompt_context(self, challenge):
        return {"question": challenge.payload["question"]}

    def parse(self, challenge, response):
        try:
            answer = json.loads(response)
        except ValueError:
            return None
        return answer if isinstance(answer, dict) and "answer" in answer else None

    def check(self, challenge, parsed):
        return constant_time_equals(str(parsed["answer"]), challenge.payload["expected"])

    def enrolments(self, user):
        return [Enrolment("example", "Example", "An example to add.", "example-enrol")]

    def after_first_method(self, user):
        return Enrolment("example_after", "Example extras", "Offered after.", "example-after")

    def settings_context(self, user):
        return {"count": int(user.pk in REGISTERED)}

    def admin_summary(self, user):
        if user.pk not in REGISTERED:
            return []
        return [AdminItem("Example", "added today", "/example/remove")]


@enrolment.hosted
def enrol(request: HttpRequest, enrolling: enrolment.Enrolling) -> HttpResponse:
    """The method's one enrolment view, whichever host: "right" registers and proves it."""
    if request.method == "POST":
        if request.POST.get("answer") != "right":
            return enrolment.finish(request, enrolling, proof=None)
        REGISTERED.add(enrolling.user.pk)
        return enrolment.finish(request, enrolling, proof="example")
    return HttpResponse(f"{enrolling.user.username} {enrolling.host} {enrolling.next}")


def after(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"after {request.GET.get('next', '')}")


urlpatterns = [
    path("example/enrol", enrol, name="example-enrol"),
    path("example/after", after, name="example-after"),
    path("", include("twofold.urls")),
]

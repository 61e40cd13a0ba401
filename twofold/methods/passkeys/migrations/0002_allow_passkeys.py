"""Passkeys are allowed by default (issue 17): organisations that existed before the
method did get them allowed too; an administrator can turn them off on the policy page."""

from django.db import migrations

KIND = "passkey"


def allow(apps, schema_editor):
    Organisation = apps.get_model("organisations", "Organisation")
    for organisation in Organisation.objects.only("pk", "allowed_methods"):
        if KIND not in organisation.allowed_methods:
            organisation.allowed_methods = [*organisation.allowed_methods, KIND]
            organisation.save(update_fields=["allowed_methods"])


def disallow(apps, schema_editor):
    Organisation = apps.get_model("organisations", "Organisation")
    for organisation in Organisation.objects.only("pk", "allowed_methods"):
        if KIND in organisation.allowed_methods:
            organisation.allowed_methods = [k for k in organisation.allowed_methods if k != KIND]
            organisation.save(update_fields=["allowed_methods"])


class Migration(migrations.Migration):
    dependencies = [
        ("passkeys", "0001_initial"),
        ("organisations", "0004_organisation_suspended"),
    ]

    operations = [migrations.RunPython(allow, disallow)]

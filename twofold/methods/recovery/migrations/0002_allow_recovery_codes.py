"""Recovery codes are allowed by default (issue 17): organisations that existed before the
method get them allowed too, as new ones do; an administrator can turn them off on the
policy page. (Passkeys do the same in their own 0002.)"""

from django.db import migrations

KIND = "recovery_code"


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
        ("recovery", "0001_initial"),
        ("organisations", "0004_organisation_suspended"),
    ]

    operations = [migrations.RunPython(allow, disallow)]

"""The code's digest on each authentication: a code presented again after its exchange
finds the tokens issued from it, which then end (RFC 6749 section 4.1.2)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("oidc", "0002_authentication"),
    ]

    operations = [
        migrations.AddField(
            model_name="authentication",
            name="code_digest",
            field=models.CharField(blank=True, db_index=True, max_length=64),
        ),
    ]

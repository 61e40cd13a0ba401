"""App passwords get a keyed lookup digest, so a check verifies one hash, not one per row.

No data step: a digest cannot be computed from a hash. Rows made before this migration
keep an empty lookup and go on working through the service's fallback, which gives each
its digest at its first successful use (see services._find).
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("app_passwords", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="apppassword",
            name="lookup",
            field=models.CharField(
                blank=True, default="", editable=False, max_length=64, verbose_name="lookup digest"
            ),
        ),
        migrations.AddIndex(
            model_name="apppassword",
            index=models.Index(fields=["user", "lookup"], name="app_password_lookup"),
        ),
    ]

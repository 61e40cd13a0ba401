# Each SIEM destination's state (last delivered event, failing since) and an organisation's
# CA bundle for a TLS destination.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0009_forward_destinations"),
    ]

    operations = [
        migrations.AddField(
            model_name="forwarddestination",
            name="failing_since",
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name="forwarddestination",
            name="delivered_event_id",
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="forwarddestination",
            name="delivered_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name="forwarddestination",
            name="ca_pem",
            field=models.TextField(blank=True),
        ),
    ]

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("phone", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="phone",
            name="pending_preferred_option",
            field=models.CharField(blank=True, max_length=40),
        ),
    ]

"""`manage.py kds_outbox_prune`: delete old kitchen display events (daily from cron or a timer, or
`--every 3600` in its own process, as deploy/Procfile runs it)."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from fulfilment.services.outbox import outbox_prune
from orderahead.periodic import run_every


class Command(BaseCommand):
    help = ("Delete store events (the kitchen screens' outbox) older than --keep-hours, keeping each store's "
            "newest so its numbering carries on. A screen away for longer than that gets a fresh snapshot.")

    def add_arguments(self, parser):
        parser.add_argument("--keep-hours", type=int, default=48)
        parser.add_argument("--every", type=int, default=0, metavar="SECONDS",
                            help="Keep running, one pass every SECONDS (default: one pass, then exit).")

    def handle(self, *args, keep_hours: int, every: int = 0, **options):
        if keep_hours < 1:
            raise CommandError("--keep-hours must be at least 1")

        def prune() -> None:
            deleted = outbox_prune(older_than=timezone.now() - dt.timedelta(hours=keep_hours))
            self.stdout.write(f"Deleted {deleted} store events older than {keep_hours} h.")

        run_every(every, prune)

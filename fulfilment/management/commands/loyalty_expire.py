"""`manage.py loyalty_expire`: the periodic sweep of loyalty stars past their expiry (issue 28).

Run it once a day from cron or a timer, or `--every 3600` in its own process as deploy/Procfile runs it.
With no active program, or one whose star_expiry_days is 0, a pass does nothing. Each member's stars
expire at most once a UTC day (the ledger key), so passes that repeat, or run on two machines, change
nothing twice; stars that reach their expiry after the day's pass expire in the next day's.
"""

from django.core.management.base import BaseCommand

from fulfilment.services.loyalty import loyalty_expire
from orderahead.periodic import run_every


class Command(BaseCommand):
    help = "Expire loyalty stars not spent within the program's star_expiry_days. Run daily (or hourly)."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=int, default=0, metavar="SECONDS",
                            help="Keep running, one pass every SECONDS (default: one pass, then exit).")

    def handle(self, *args, every: int = 0, **options):
        def sweep() -> None:
            members = loyalty_expire()
            self.stdout.write(f"Stars expired for {len(members)} member(s).")

        run_every(every, sweep)

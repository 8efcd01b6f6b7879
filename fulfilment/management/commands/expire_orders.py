"""`manage.py expire_orders`: the periodic sweep of orders whose time is up.

Run it every minute (cron, a systemd timer, or `--every 60` in its own process). Each pass:
1. cancels mobile orders not paid within ORDER_PAYMENT_TIMEOUT_S (stock, slot and queue place back,
   the payment intent cancelled);
2. cancels open orders whose card authorisation reaches its capture deadline (a margin before the
   provider's 7 days), releasing the hold before it expires, so nothing is ever captured late;
3. marks ready orders left past their store's no-show time as no_show, capturing or releasing the
   card hold as the store's payment policy says;
4. settles what failed network calls left open (holds of cancelled orders, abandoned claims).

Every step is idempotent: running it twice, or on two machines at once, changes nothing twice.
"""

from django.core.management.base import BaseCommand

from fulfilment.services.payments import payment_cancel_expiring, payment_expire_unpaid, payment_reconcile
from fulfilment.services.pickup import pickup_mark_no_shows
from orderahead.periodic import run_every


class Command(BaseCommand):
    help = ("Cancel unpaid orders and orders whose card authorisation is about to expire, mark no-shows "
            "(capture or release per store policy), and settle unfinished payments. Run every minute.")

    def add_arguments(self, parser):
        parser.add_argument("--every", type=int, default=0, metavar="SECONDS",
                            help="Keep running, one pass every SECONDS (default: one pass, then exit).")

    def handle(self, *args, every: int = 0, **options):
        run_every(every, self.sweep)

    def sweep(self) -> None:
        steps = [("unpaid orders cancelled", payment_expire_unpaid),
                 ("orders cancelled before their card authorisation expired", payment_cancel_expiring),
                 ("no-shows", pickup_mark_no_shows),
                 ("cancelled orders' payments settled", payment_reconcile)]
        for label, step in steps:
            ids = step()
            if ids:
                self.stdout.write(f"{label}: {len(ids)} ({', '.join(map(str, ids))})")

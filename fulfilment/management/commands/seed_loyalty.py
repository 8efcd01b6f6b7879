"""`manage.py seed_loyalty`: the demo chain's loyalty program and the demo customer's welcome stars."""

from django.core.management.base import BaseCommand

from fulfilment.services.loyalty_demo import WELCOME_STARS, loyalty_seed_demo


class Command(BaseCommand):
    help = (f"Create the demo loyalty program (2 stars a dollar, rewards at 60 and 100 stars, a birthday drink) if "
            f"there is none, and give the demo customer {WELCOME_STARS} welcome stars once. Safe to run again.")

    def handle(self, *args, **options):
        program = loyalty_seed_demo()
        self.stdout.write(f"Loyalty program: {program.name} ({program.rewards.count()} rewards).")

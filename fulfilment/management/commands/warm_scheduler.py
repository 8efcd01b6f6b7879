"""`manage.py warm_scheduler`: compile the scheduler's kernels into Numba's cache before serving.

`make run` runs it before starting Daphne, so the first quote does not wait minutes for the
compiler on a fresh clone. On later runs it only loads the cache (under a second). The cache is
NUMBA_CACHE_DIR (default <repo>/.numba_cache), shared by every process of the checkout.
"""

import time

from django.core.management.base import BaseCommand

from core_native import warm
from orderahead import readiness


class Command(BaseCommand):
    help = "Compile the scheduler (first run only, a few minutes) or load it from the cache, with progress."

    def handle(self, *args, **options):
        announced = False
        last_line = 0.0

        def progress(step: warm.WarmUpProgress):
            nonlocal announced, last_line
            if step.done:
                return
            if not announced:
                self.stdout.write(f"Compiling the scheduler (first run only, about {warm.TYPICAL_COLD_COMPILE_S} s; "
                                  f"cache: {warm.configure_cache_dir()})...")
                announced = True
            now = time.monotonic()
            if now - last_line >= 2.0 or step.compiled == step.total:  # a line every few seconds at most
                last_line = now
                self.stdout.write(f"  {step.compiled}/{step.total} kernels, {step.elapsed_s:.0f} s")
            self.stdout.flush()

        result = readiness.STATE.run_warm_up(progress=progress)
        if result["compiled"]:
            self.stdout.write(self.style.SUCCESS(
                f"Scheduler compiled in {result['seconds']:.1f} s ({result['compiled']} kernels); "
                f"later starts load it from the cache."))
        else:
            self.stdout.write(self.style.SUCCESS(f"Scheduler loaded from cache in {result['seconds']:.1f} s."))

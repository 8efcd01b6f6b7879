"""The slot scheduler: which lane makes which item when, and what ready time each customer is promised.

No Django here: flat NumPy arrays in, arrays out. Start with `api.py` (the
public functions `plan`, `quote`, `prepare_store`), `instances.py`
(`plan_instance`, the DESIGN.md instance files) and `reference.py` (the
planner in plain Python, the specification the Numba kernels follow).
See docs/SCHEDULER.md.

`warm_up()` compiles the kernels (or loads them from the on-disk cache, NUMBA_CACHE_DIR, by
default <repo>/.numba_cache) before a server says it is ready (`warm.py`).
"""

from .warm import configure_cache_dir, warm_up

configure_cache_dir()

__all__ = ["warm_up", "configure_cache_dir"]

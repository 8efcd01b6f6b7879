"""The slot scheduler: which lane makes which item when, and what ready time each customer is promised.

No Django here: flat NumPy arrays in, arrays out. Start with `api.py` (the
public functions `plan`, `quote`, `prepare_store`), `instances.py`
(`plan_instance`, the DESIGN.md instance files) and `reference.py` (the
planner in plain Python, the specification the Numba kernels follow).
See docs/SCHEDULER.md.
"""

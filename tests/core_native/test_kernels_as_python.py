"""The kernels run as plain Python (NUMBA_DISABLE_JIT=1), as a coverage run would, and agree."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import numpy as np
from core_native import api
from tests.core_native.conftest import chain
kw = chain(np.random.default_rng(3), 3)
a, b = api.plan(**kw), api.plan(**kw, use_reference=True)
for f in ("item_lane", "item_start_s", "item_finish_s", "order_ready_s", "order_margin_s"):
    np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
# the offline planner's iterated search too (a few kicks: it is slow as plain Python)
from dataclasses import replace
from core_native.config import THOROUGH_PLANNER
from core_native.tools.optimal import random_single_station_instance
few = replace(THOROUGH_PLANNER, ils_kicks=2)
kw = random_single_station_instance(np.random.default_rng(4), 10, 1)
a, b = api.plan(**kw, config=few), api.plan(**kw, use_reference=True, config=few)
for f in ("item_lane", "item_start_s", "item_finish_s", "order_ready_s"):
    np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
print("same")
"""


def test_kernels_without_jit_match_reference():
    env = {"NUMBA_DISABLE_JIT": "1", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "same"

"""`bench --against-rev REV` runs end to end and prints the re-plan and quote ratios against REV's package.

A smoke test, not a timed one: the kernels run as plain Python (NUMBA_DISABLE_JIT=1, so neither package
compiles for minutes) on a tiny chain, against HEAD's core_native extracted by git.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RATIO_KEYS = ("against_rev", "replan_1core_ms_this", "replan_1core_ms_rev", "replan_this_over_rev",
              "quote_us_p50_this", "quote_us_p50_rev", "quote_this_over_rev", "against_differing", "speedup")


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs the git history")
def test_against_rev_prints_the_ratios():
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    proc = subprocess.run(
        [sys.executable, "-m", "core_native.tools.bench", "--stores", "3", "--orders", "12", "--quotes", "5",
         "--repeats", "1", "--ref-repeats", "1", "--no-cold-compile", "--against-rev", "HEAD", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in RATIO_KEYS:
        assert key in figures, key
    assert figures["against_rev"] == "HEAD"
    assert figures["replan_this_over_rev"] > 0 and figures["quote_this_over_rev"] > 0
    assert isinstance(figures["against_differing"], list)

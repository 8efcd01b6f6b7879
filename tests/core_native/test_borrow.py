"""`_borrow` (a view with no reference count, core_native/_kernels.py "borrowed arrays") is safe only
while the owning array is alive; `_keep_alive((owner, ...))` is what keeps it alive. Without that call
Numba frees the owner right after `_borrow(owner)` (its last use by name), the next allocation of the
same size takes its memory, and the borrowed view reads that array instead: removing the keep-alive
line from `reads_what_it_borrowed` makes this test read 2.0s (checked by hand)."""

import numpy as np
from numba import njit

from core_native._kernels import _borrow, _keep_alive


@njit
def reads_what_it_borrowed(n):
    owner = np.full(n, 1.0)
    view = _borrow(owner)
    other = np.full(n, 2.0)  # allocated after the owner's last use by name: reuses its memory if it was freed
    total = view.sum() + other[0] * 0.0
    _keep_alive((owner,))
    return total


def test_a_borrowed_array_reads_its_owner_while_kept_alive():
    assert reads_what_it_borrowed(1000) == 1000.0

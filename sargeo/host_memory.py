"""Keep freed host memory for the next tensor instead of handing it back to the kernel.

glibc gives every freed block above its mmap threshold (128 KB, rising to the largest block
freed) back to the kernel, and trims the heap's free top, so a CPU model's per-batch tensors
(0.5-30 MB each) land on fresh pages every batch, and the kernel zeroes and maps each page on
first touch, which costs more than the arithmetic on it. Measured on 2 cores (a VM, where page
faults are dearer still), batch 8: a fresh 6 MB result makes `x * x * x` 5 ms instead of
0.2 ms; the shipped model's colour adjustment 45 -> 27 ms a batch; the whole shipped model
60 -> 74 tiles/s. The price is that freed memory stays with the process, so it is kept in
one arena: with one per thread, each scene's new reader and writer threads kept their own
(peak RSS over 8 scenes of 4096 px in one process: glibc's defaults 888 -> 935 MB, reuse
876 -> 1031 MB, reuse in one arena 859 -> 896 MB, as fast). The command-line tools call
this; a library caller may too.
"""

from __future__ import annotations

import ctypes
import functools
import os

#: mallopt parameters (malloc.h).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8
#: glibc's largest mmap threshold on 64-bit systems (blocks above it are always mapped afresh).
MMAP_THRESHOLD_MAX = 32 * 2**20
#: Free memory the heap top may hold before it is returned (mallopt takes an int).
TRIM_THRESHOLD = 2**31 - 1


@functools.cache
def reuse_freed_memory() -> bool:
    """Tell glibc to keep freed blocks up to 32 MB for reuse, in one arena; True if it was told.
    Nothing happens with another C library, or when MALLOC_MMAP_THRESHOLD_,
    MALLOC_TRIM_THRESHOLD_ or MALLOC_ARENA_MAX is set (the user's choice stands)."""
    if any(name in os.environ for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_",
                                           "MALLOC_ARENA_MAX")):
        return False
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):
            return False
        libc = ctypes.CDLL("libc.so.6")
    except (AttributeError, ValueError, OSError):  # no confstr (Windows), no such name, no glibc
        return False
    # mallopt returns 1 on success; setting a threshold turns off glibc's own adjustment of both
    settings = ((M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX), (M_TRIM_THRESHOLD, TRIM_THRESHOLD), (M_ARENA_MAX, 1))
    return all([libc.mallopt(param, value) == 1 for param, value in settings])

"""Freed tensors' memory is reused, not faulted in afresh every batch (sargeo.host_memory)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sargeo.host_memory import reuse_freed_memory

glibc = pytest.mark.skipif(not hasattr(os, "confstr") or not (os.confstr("CS_GNU_LIBC_VERSION") or "")
                           .startswith("glibc"), reason="the setting is glibc's")

# page faults in each of two windows of 20 rounds of elementwise work with three 6 MB temporaries
CHILD = """
import resource, sys, torch
from sargeo.host_memory import reuse_freed_memory
if sys.argv[1] == "on":
    assert reuse_freed_memory()
torch.set_num_threads(1)
x = torch.rand(8, 3, 256, 256)
def work():
    return ((x * 2.0) * (x + 1.0) - x.sqrt()).sum()
for _ in range(3):
    work()
for _ in range(2):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        work()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> list[int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    if mode == "off":  # glibc's starting threshold, held: its own adjustment sometimes keeps the pages
        env["MALLOC_MMAP_THRESHOLD_"] = "131072"
    out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True,
                         env=env)
    return [int(n) for n in out.stdout.split()]


@glibc
def test_batches_after_the_first_reuse_freed_pages():
    off, on = _faults("off"), _faults("on")
    assert min(off) > 1000  # not kept: fresh pages for the temporaries, round after round
    assert on[1] < 100  # reused: once the process has its pages, no more faults


@pytest.mark.parametrize("name", ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_ARENA_MAX"])
def test_the_users_malloc_settings_stand(monkeypatch, name):
    monkeypatch.setenv(name, "4")
    assert reuse_freed_memory.__wrapped__() is False

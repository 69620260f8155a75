"""The trainer keeps freed memory for reuse instead of mapping fresh pages each time."""

import platform
import subprocess
import sys

import pytest
from conftest import ROOT

# In a fresh interpreter: the setting is process-wide, and any test that loaded an engine
# before this one has already made it in the test process.
MEASURE = """
import resource, torch
from sdpo_cli.train.allocator import keep_freed_memory
PAGES = 64 * 2**20 // 4096  # a 64 MB tensor: above glibc's largest adaptive mmap threshold

def faults_of_a_tensor(pages):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    tensor = torch.ones(pages * 1024)  # float32: 4 bytes each, every page touched
    del tensor
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

faults_of_a_tensor(PAGES)
default = faults_of_a_tensor(PAGES - 256)
assert keep_freed_memory()
faults_of_a_tensor(PAGES)  # grows the heap: fresh pages once
kept = faults_of_a_tensor(PAGES - 256)
print(PAGES, default, kept)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")
def test_a_freed_large_block_is_reused_without_page_faults():
    """A 64 MB tensor freed, then a slightly smaller one: by default glibc maps fresh
    pages for each; with freed memory kept, the second one reuses the first's pages."""
    result = subprocess.run(
        [sys.executable, "-c", MEASURE], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    pages, default, kept = map(int, result.stdout.split())
    assert default > pages // 2
    assert kept < pages // 20

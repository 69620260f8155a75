"""The trainer keeps freed memory for reuse instead of mapping fresh pages each time."""

import platform
import resource

import pytest
import torch

from sdpo_cli.train.allocator import keep_freed_memory

PAGES = 64 * 2**20 // 4096  # a 64 MB tensor: above glibc's largest adaptive mmap threshold


def faults_of_a_tensor(pages: int) -> int:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    tensor = torch.ones(pages * 1024)  # float32: 4 bytes each, every page touched
    del tensor
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")
def test_a_freed_large_block_is_reused_without_page_faults():
    """A 64 MB tensor freed, then a slightly smaller one: by default glibc maps fresh
    pages for each; with freed memory kept, the second one reuses the first's pages."""
    faults_of_a_tensor(PAGES)
    assert faults_of_a_tensor(PAGES - 256) > PAGES // 2
    assert keep_freed_memory()
    faults_of_a_tensor(PAGES)  # grows the heap: fresh pages once
    assert faults_of_a_tensor(PAGES - 256) < PAGES // 20

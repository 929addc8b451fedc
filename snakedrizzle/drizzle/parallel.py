"""Splitting one stage's output into horizontal strips computed by forked processes.

The drizzle C kernels hold the GIL, so threads cannot share a final drizzle or a median between
cores; forked processes can. The output lives in anonymous shared memory created before the fork,
each process writes its own rows, and nothing is pickled. Used with ``workers=1`` (the default for
library calls) everything runs in the calling process.

Fork is safe here because the stage runs in a single-threaded process (a job process or a child of
the job server); library users calling with ``workers > 1`` from a threaded program should not.
"""
import ctypes
import mmap
import os
import sys
import traceback

import numpy as np


def shared_array(shape, dtype, fill=0):
    """A numpy array in anonymous shared memory: writes by forked children are seen here."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape)) * dtype.itemsize
    buf = mmap.mmap(-1, max(size, 1))
    arr = np.frombuffer(buf, dtype=dtype, count=int(np.prod(shape))).reshape(shape)
    if fill != 0:
        arr.fill(fill)
    return arr


_MADV_DONTNEED, _MADV_REMOVE = 4, 9  # Linux's madvise advice numbers


def release(array):
    """Give the memory of the whole pages under ``array`` (a C-contiguous view that is never read
    again) back to the system: its values are gone. Shared memory is removed from the shared
    object, private memory dropped. Best effort: where madvise is missing nothing happens."""
    page = mmap.PAGESIZE
    first = -(-array.ctypes.data // page) * page
    last = (array.ctypes.data + array.nbytes) // page * page
    if last <= first or not array.flags.c_contiguous:
        return
    try:
        madvise = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return
    madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    if madvise(first, last - first, _MADV_REMOVE) != 0:  # not shared memory: drop the pages
        madvise(first, last - first, _MADV_DONTNEED)


def row_strips(n_rows, workers, min_rows=64):
    """[(start, stop)] splitting ``n_rows`` into at most ``workers`` strips of ≥ ``min_rows``."""
    n = max(1, min(int(workers or 1), n_rows // max(min_rows, 1)))
    edges = np.linspace(0, n_rows, n + 1).round().astype(int)
    return list(zip(edges[:-1], edges[1:]))


def run_strips(strips, work):
    """Call ``work(start, stop)`` for every strip: the first here, the others in forked children.
    Raises if a child fails (its traceback goes to stderr, i.e. the job's log)."""
    children = []
    for start, stop in strips[1:]:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                work(start, stop)
                status = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(status)
        children.append((pid, start, stop))
    try:
        work(*strips[0])
    finally:
        failed = [(s, e) for pid, s, e in children if os.waitpid(pid, 0)[1] != 0]
    if failed:
        raise RuntimeError(f"worker process(es) for output rows {failed} failed; see the log")

"""Atomic product writing: every product appears whole or not at all."""
import contextlib
import glob
import json
import os
import tempfile
import warnings

import numpy as np
from astropy.io import fits


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary file lives in the same directory so the final ``os.replace`` is atomic; on any
    error it is removed, so a failed job never leaves a half-written product behind.
    """
    path = os.fspath(path)
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    _remove_stale_temporaries(directory, os.path.basename(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix="-" + os.path.basename(path), dir=directory)
    os.close(fd)
    try:
        yield tmp
        # mkstemp makes 0600 files; a product gets the mode any new file would get (umask), so
        # collaborators in a shared group can read it.
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def current_umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove_stale_temporaries(directory, name):
    """Temporaries of ``name`` left by a writer that was killed (kill -9 skips the cleanup
    below). Only one job ever writes a given product, so any such file is stale."""
    for stale in glob.glob(os.path.join(glob.escape(directory), f".tmp-*-{glob.escape(name)}")):
        try:
            os.remove(stale)
        except OSError:
            pass


def write_hdulist(hdul, path):
    with atomic_path(path) as tmp, warnings.catch_warnings():
        # a long string value (a fit's FAILED reason) loses its card comment, nothing else
        warnings.filterwarnings("ignore", message="Card is too long, comment will be truncated")
        hdul.writeto(tmp, overwrite=True, output_verify="silentfix")
    return path


def write_image(path, data, header=None):
    """A single-HDU FITS image (DrizzlePac writes its intermediates this way)."""
    return write_hdulist(fits.HDUList([fits.PrimaryHDU(data=np.asarray(data), header=header)]), path)


def write_json(path, obj):
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=1, sort_keys=True, default=_jsonable)
            f.write("\n")
    return path


def read_json(path):
    with open(path) as f:
        return json.load(f)


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON-serialisable: {type(value)}")

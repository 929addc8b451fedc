"""Atomic product writing: every product appears whole or not at all."""
import contextlib
import json
import os
import tempfile

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
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix="-" + os.path.basename(path), dir=directory)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_hdulist(hdul, path):
    with atomic_path(path) as tmp:
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

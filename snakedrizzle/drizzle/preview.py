"""Quick-look figures for the workflow's report: a product's SCI image and, per exposure, the
pixels the cosmic-ray rejection flagged on each chip.

The array functions (``downsample``, ``downsample_any``, ``stretch``) and the figure builders
take arrays; ``product_preview`` and ``crmask_preview`` are the file layer the rules call.
Images are block-averaged to at most ``max_side`` pixels a side first, so a preview costs a
fraction of a second even for a full ACS/WFC mosaic.
"""
import math
import os
import re
import warnings

import numpy as np
from astropy.io import fits
from astropy.visualization import AsinhStretch, ZScaleInterval

from snakedrizzle.io.fitsio import atomic_path

CRMASK_NAME = re.compile(r"_sci(\d+)_crmask\.fits$")
FLAGGED_RGBA = (1.0, 0.15, 0.1, 1.0)


def block_factor(shape, max_side):
    """The integer factor that brings the longest side of ``shape`` to at most ``max_side``."""
    return max(1, math.ceil(max(shape) / max_side))


def _blocks(image, factor):
    ny, nx = (n // factor * factor for n in image.shape)
    if ny == 0 or nx == 0:  # smaller than one block: keep it whole
        return image[np.newaxis, :, np.newaxis, :]
    return image[:ny, :nx].reshape(ny // factor, factor, nx // factor, factor)


def downsample(image, max_side=1024):
    """Block mean of a float image (NaN pixels ignored; a block of NaN stays NaN)."""
    image = np.asarray(image, dtype=np.float32)
    factor = block_factor(image.shape, max_side)
    if factor == 1:
        return image
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks
        return np.nanmean(_blocks(image, factor), axis=(1, 3))


def downsample_any(mask, max_side=1024):
    """Block "any" of a boolean mask: one flagged pixel keeps its block flagged, so isolated
    cosmic rays stay visible at any reduction."""
    mask = np.asarray(mask, dtype=bool)
    factor = block_factor(mask.shape, max_side)
    if factor == 1:
        return mask
    return _blocks(mask, factor).any(axis=(1, 3))


def stretch(image, headroom=25.0):
    """Values in [0, 1] for display: from zscale's lower limit up to ``headroom`` times zscale's
    range, through an asinh stretch, so the sky noise and the cores of bright sources are both
    visible. NaN stays NaN."""
    image = np.asarray(image, dtype=np.float32)
    finite = np.isfinite(image)
    if not finite.any():
        return np.full(image.shape, np.nan, dtype=np.float32)
    lo, hi = ZScaleInterval().get_limits(image[finite])
    hi = lo + headroom * (hi - lo) if hi > lo else lo + 1.0
    scaled = np.clip((image - lo) / (hi - lo), 0.0, 1.0)
    return np.where(finite, AsinhStretch(a=0.02)(scaled, clip=True), np.nan).astype(np.float32)


def _figure(ncols, aspect):
    # matplotlib.figure.Figure without pyplot: no global state, no GUI backend.
    from matplotlib.figure import Figure

    width = 5.0 * ncols
    return Figure(figsize=(width, 5.0 * aspect + 0.6), layout="constrained")


def product_figure(sci, title):
    """The product's SCI image, stretched, north as drizzled (origin lower left)."""
    display = stretch(sci)
    fig = _figure(1, display.shape[0] / display.shape[1])
    ax = fig.add_subplot()
    cmap = _gray_with_blank()
    ax.imshow(display, origin="lower", cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
    return fig


def crmask_figure(chips, title):
    """One panel per chip: the chip's SCI, stretched, with the flagged pixels in red.
    ``chips``: (label, sci, flagged) with sci and flagged of the same (downsampled) shape."""
    shape = chips[0][1].shape
    fig = _figure(len(chips), shape[0] / shape[1])
    fig.suptitle(title, fontsize=10)
    for k, (label, sci, flagged) in enumerate(chips):
        ax = fig.add_subplot(1, len(chips), k + 1)
        ax.imshow(stretch(sci), origin="lower", cmap=_gray_with_blank(), vmin=0, vmax=1,
                  interpolation="nearest")
        overlay = np.zeros(flagged.shape + (4,), dtype=np.float32)
        overlay[flagged] = FLAGGED_RGBA
        ax.imshow(overlay, origin="lower", interpolation="nearest")
        ax.set_title(label, fontsize=9)
        ax.set_axis_off()
    return fig


def _gray_with_blank():
    from matplotlib import colormaps

    # pixels no exposure covered (NaN) in a colour unlike any sky value
    return colormaps["gray"].with_extremes(bad="#3050a0")


def save_png(fig, out):
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    return out


def product_preview(product_path, out, max_side=1024):
    """PNG of a drizzled product's SCI extension."""
    sci = fits.getdata(product_path, "SCI")
    factor = block_factor(sci.shape, max_side)
    title = f"{os.path.basename(product_path)} SCI ({sci.shape[1]}x{sci.shape[0]}"
    title += f", binned {factor}x{factor})" if factor > 1 else ")"
    return save_png(product_figure(downsample(sci, max_side), title), out)


def crmask_preview(exposure_path, mask_files, out, max_side=512):
    """PNG of an exposure's cosmic-ray masks (``<root>_sci<n>_crmask.fits``: 1 good, 0 flagged),
    one panel per chip over the chip's SCI, with the count and fraction of flagged pixels."""
    chips = []
    total = 0
    with fits.open(exposure_path) as hdul:
        for k, mask_file in enumerate(mask_files):
            match = CRMASK_NAME.search(os.fspath(mask_file))
            extver = int(match[1]) if match else k + 1
            flagged = fits.getdata(mask_file) == 0
            total += int(flagged.sum())
            label = f"SCI,{extver}: {int(flagged.sum())} flagged ({100 * flagged.mean():.2f}%)"
            sci = hdul["SCI", extver].data
            chips.append((label, downsample(sci, max_side), downsample_any(flagged, max_side)))
    title = f"{os.path.basename(exposure_path)}: {total} cosmic-ray pixels (red)"
    return save_png(crmask_figure(chips, title), out)

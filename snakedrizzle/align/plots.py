"""TweakReg's residual and vector plots (SPEC §3 ``residplot``) as PNG, one panel per exposure."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from snakedrizzle.io.fitsio import atomic_path  # noqa: E402


def _grid(n):
    ncols = min(n, 3)
    return max(1, -(-n // ncols)), max(1, ncols)


def _save(fig, path):
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)
    return path


def _plot_each(items, path, title, labelsize, draw):
    """One panel per (name, residual table or None); ``draw(ax, table)`` fills a panel."""
    nrows, ncols = _grid(max(1, len(items)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.5 * ncols, 4 * nrows), squeeze=False)
    fig.suptitle(title, fontsize=labelsize + 2)
    for ax, (name, res) in zip(axes.ravel(), items):
        ax.set_title(name, fontsize=labelsize)
        if res is None or len(res) == 0:
            ax.text(0.5, 0.5, "no fit", ha="center", transform=ax.transAxes)
        else:
            draw(ax, res)
    return _save(fig, path)


def not_drawn(path, residplot):
    """The plot a ``residplot`` setting leaves out: a PNG that says so (the file is a DAG output)."""
    fig = plt.figure(figsize=(4, 1))
    fig.text(0.5, 0.5, f"not drawn (residplot={residplot!r})", ha="center", va="center")
    return _save(fig, path)


def residual_plot(items, path, labelsize=8, ylimit=None):
    """dx, dy against reference x and y; ``ylimit`` fixes the y range to +/- ylimit pixels."""
    def draw(ax, res):
        ax.plot(res["ref_x"], res["dx"], ".", ms=2, label="dx vs x")
        ax.plot(res["ref_y"], res["dy"], ".", ms=2, label="dy vs y")
        ax.axhline(0, color="k", lw=0.5)
        if ylimit:
            ax.set_ylim(-ylimit, ylimit)
        ax.set_xlabel("reference position (pixels from CRPIX)", fontsize=labelsize)
        ax.legend(fontsize=labelsize)
    return _plot_each(items, path, "Fit residuals (reference - fit, pixels)", labelsize, draw)


def vector_plot(items, path, labelsize=8):
    """Residual vectors at the reference positions."""
    def draw(ax, res):
        rms = float(np.sqrt(np.mean(np.asarray(res["dx"]) ** 2 + np.asarray(res["dy"]) ** 2))) or 1.0
        ax.quiver(res["ref_x"], res["ref_y"], res["dx"], res["dy"], angles="xy", scale_units="xy",
                  scale=rms / 50.0, width=0.002)
        ax.set_aspect("equal")
        ax.set_xlabel(f"x (pixels); arrows x{50 / rms:.0f}", fontsize=labelsize)
    return _plot_each(items, path, "Fit residual vectors", labelsize, draw)

"""How the big stages keep their memory down (issue 12's memory bar): ``parallel.release`` gives
pages back, the final drizzle holds its frame once whatever the number of processes (same bits:
tests/test_determinism.py), and the HAP product copies the drizzle product's pixel bytes file to
file, writing exactly what astropy writes."""
import io
import os

import numpy as np
from astropy.io import fits

from snakedrizzle.drizzle import adrizzle, parallel


def _resident_kib(kind):
    """This process's resident memory of ``kind`` ('Rss', 'Pss_Shmem', ...), KiB."""
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            if line.startswith(kind + ":"):
                return int(line.split()[1])
    return 0


def test_release_gives_back_private_and_shared_pages():
    mib = 2**20
    private = np.ones(64 * mib // 4, np.float32)
    shared = parallel.shared_array((64 * mib // 4,), np.float32, fill=1)
    before, before_shared = _resident_kib("Rss"), _resident_kib("Pss_Shmem")
    parallel.release(private[: 32 * mib // 4])
    parallel.release(shared[: 32 * mib // 4])
    assert before - _resident_kib("Rss") > 60 * 1024          # both halves left (32 + 32 MiB)
    assert before_shared - _resident_kib("Pss_Shmem") > 30 * 1024
    assert private[-1] == 1 and shared[-1] == 1                 # the rest is untouched


def test_strip_handback_moves_rows_and_frees_them():
    """A strip's rows reach the result through a buffer of the strip's size, which is empty after."""
    class Out:
        out_img = np.zeros((600, 300), np.float32)
        out_wht = np.zeros((600, 300), np.float32)
        out_ctx = np.zeros((1, 600, 300), np.int32)

    theirs, ours = Out(), Out()
    ours.out_img, ours.out_wht, ours.out_ctx = (np.zeros_like(a) for a in (Out.out_img, Out.out_wht, Out.out_ctx))
    rng = np.random.default_rng(1)
    theirs.out_img[:] = rng.normal(size=theirs.out_img.shape)
    theirs.out_wht[:] = 2.0
    theirs.out_ctx[:] = 3
    expected = theirs.out_img[200:600].copy()
    planes = adrizzle.StripPlanes(400, 300, 1)
    planes.take_from(theirs, 200)
    planes.give_to(ours, 200)
    assert np.array_equal(ours.out_img[200:600], expected)
    assert (ours.out_wht[200:600] == 2.0).all() and (ours.out_ctx[:, 200:600] == 3).all()
    assert not ours.out_img[:200].any()


def test_hap_product_is_what_astropy_writes(tmp_path):
    """The streamed HAP product: byte for byte what astropy writes of the same HDUs, with the
    drizzle product's pixels."""
    from snakedrizzle.drizzle.files_final import final_drizzle_stage
    from snakedrizzle.hap import files
    from snakedrizzle.simulate import make_visit
    from snakedrizzle.workflow.params import DEFAULTS

    visit = make_visit(tmp_path / "data", "ACS/HRC", {"F555W": 2}, chip_shape=(64, 96), n_stars=15,
                       n_galaxies=2, seed=4)
    paths = sorted(str(p) for p in getattr(visit, "paths", visit) if str(p).endswith("_flt.fits"))
    sky = tmp_path / "sky.json"
    sky.write_text('{"mdrizsky": {"1": 0.0}, "subtracted": {"1": 0.0}}')
    drizzled, out = str(tmp_path / "p_drz.fits"), str(tmp_path / "hst_1_01_acs_hrc_f555w_j01_drz.fits")
    final_drizzle_stage(paths, None, [str(sky)] * len(paths), {}, drizzled, dict(DEFAULTS))
    files.hap_product_stage(drizzled, paths, out, "filter")
    written = open(out, "rb").read()
    with fits.open(out) as hdul, fits.open(drizzled) as source:
        again = io.BytesIO()
        hdul.writeto(again, output_verify="silentfix")
        for ext in ("SCI", "WHT", "CTX"):
            assert np.array_equal(hdul[ext].data, source[ext].data, equal_nan=True)
        assert hdul[0].header["HAPLEVEL"] == 2
    assert written == again.getvalue()
    assert os.path.getsize(out) % 2880 == 0

"""pixtosky / skytopix / pixtopix against DrizzlePac's own functions on real ACS/WFC headers with
full distortion (SIP + NPOL + D2IM lookup tables). Inputs are copied to a temporary folder."""
import contextlib
import gzip
import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from snakedrizzle.coords import pixtopix, pixtosky, skytopix
from snakedrizzle.errors import InputError
from snakedrizzle.io.extspec import open_wcs, parse_extension

HST = Path(__file__).resolve().parents[2] / "shared" / "data" / "hst"
REFFILES = HST / "acs_wfc_distortion" / "reffiles"
NX, NY = 4096, 2048  # ACS/WFC chip (the header-only sample carries no NAXISn)


def quiet(func, *args, **kwargs):
    """Call with stdout swallowed (both packages print every position by default)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return func(*args, **kwargs)


@pytest.fixture(scope="module")
def flc(tmp_path_factory):
    """jbt122x8q: a real FLC header with NPOL (WCSDVARR) and D2IM (D2IMARR) tables."""
    path = tmp_path_factory.mktemp("flc") / "sample_flc_header.fits"
    shutil.copyfile(HST / "cutouts" / "sample_flc_header.fits", path)
    return str(path)


@pytest.fixture(scope="module")
def wfc(tmp_path_factory):
    """j94f05bgq with its distortion applied by stwcs from the real ACS/WFC reference files."""
    from stwcs import updatewcs

    path = tmp_path_factory.mktemp("wfc") / "j94f05bgq_flt.fits"
    with gzip.open(HST / "acs_wfc_distortion" / "j94f05bgq_flt.fits.gz") as fin, open(path, "wb") as fout:
        shutil.copyfileobj(fin, fout)
    with fits.open(path, mode="update") as hdul:
        hdul[0].header["IDCTAB"] = "jref$postsm4_idc.fits"
        hdul[0].header["NPOLFILE"] = "jref$02c14514j_npl.fits"
        hdul[0].header["D2IMFILE"] = "jref$02c1450oj_d2i.fits"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("jref", str(REFFILES) + os.sep)
        mp.setenv("ASTROMETRY_STEP_CONTROL", "OFF")
        quiet(updatewcs.updatewcs, str(path), use_db=False)
    w = open_wcs(f"{path}[sci,1]")
    assert w.sip is not None and w.cpdis1 is not None and w.det2im1 is not None
    return str(path)


@pytest.fixture(params=["flc", "wfc"])
def image(request):
    return request.getfixturevalue(request.param)


def grid(n=100):
    x, y = np.meshgrid(np.linspace(1, NX, n), np.linspace(1, NY, n))
    return x.ravel(), y.ravel()


def sky_sep_mas(ra1, dec1, ra2, dec2):
    dra = (np.asarray(ra1) - np.asarray(ra2) + 180.0) % 360.0 - 180.0
    return np.hypot(dra * np.cos(np.radians(dec2)), np.asarray(dec1) - dec2) * 3.6e6


# ---------------------------------------------------------------------------------- accuracy

@pytest.mark.parametrize("chip", [1, 2])
def test_xy2rd_matches_drizzlepac(image, chip):
    from drizzlepac import pixtosky as dp

    x, y = grid()
    spec = f"{image}[sci,{chip}]"
    ra0, dec0 = quiet(dp.xy2rd, spec, x, y, hms=False)
    ra1, dec1 = quiet(pixtosky.xy2rd, spec, x, y, hms=False)
    sep = sky_sep_mas(ra1, dec1, ra0, dec0)
    print(f"xy2rd {Path(image).name}[sci,{chip}]: max |ours - drizzlepac| = {sep.max():.3g} mas")
    assert sep.max() < 1.0


@pytest.mark.parametrize("chip", [1, 2])
def test_rd2xy_matches_drizzlepac(image, chip):
    from drizzlepac import skytopix as dp

    x, y = grid()
    spec = f"{image}[sci,{chip}]"
    ra, dec = quiet(pixtosky.xy2rd, spec, x, y, hms=False)
    x0, y0 = quiet(dp.rd2xy, spec, ra, dec)
    x1, y1 = quiet(skytopix.rd2xy, spec, ra, dec)
    diff = np.hypot(x1 - x0, y1 - y0)
    print(f"rd2xy {Path(image).name}[sci,{chip}]: max |ours - drizzlepac| = {diff.max():.3g} px, "
          f"round trip {np.hypot(x1 - x, y1 - y).max():.3g} px")
    assert diff.max() < 1e-4
    assert np.hypot(x1 - x, y1 - y).max() < 1e-6  # tighter than DrizzlePac's 1e-4 tolerance


@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("chips", [(1, 2), (2, 1), (1, None)])
def test_tran_matches_drizzlepac(image, chips, direction):
    from drizzlepac import pixtopix as dp

    x, y = grid()
    inimage = f"{image}[sci,{chips[0]}]"
    outimage = f"{image}[sci,{chips[1]}]" if chips[1] else None
    x0, y0 = quiet(dp.tran, inimage, outimage, direction, x, y)
    x1, y1 = quiet(pixtopix.tran, inimage, outimage, direction, x, y)
    diff = np.hypot(x1 - np.asarray(x0), y1 - np.asarray(y0))
    print(f"tran {Path(image).name} {chips} {direction}: max |ours - drizzlepac| = {diff.max():.3g} px")
    assert diff.max() < 1e-4


def test_hms_strings_agree_with_drizzlepac(flc):
    from astropy import units as u
    from astropy.coordinates import Angle
    from drizzlepac import pixtosky as dp

    x, y = grid(10)
    spec = f"{flc}[sci,1]"
    ra0, dec0 = quiet(dp.xy2rd, spec, x, y, hms=True, precision=4)
    ra1, dec1 = quiet(pixtosky.xy2rd, spec, x, y, hms=True, precision=4)
    assert ra1[0].count(":") == 2 and ra1[0].split(".")[1].__len__() == 4
    sep = sky_sep_mas(Angle(list(ra1), u.hourangle).deg, Angle(list(dec1), u.deg).deg,
                      Angle(list(ra0), u.hourangle).deg, Angle(list(dec0), u.deg).deg)
    assert sep.max() < 1.0  # both round to 1e-4 s


def test_sexagesimal_rounding_carries():
    ra, dec = pixtosky.sexagesimal([359.99999999999, 15.0], [-0.25, -72.99999999999], 3)
    assert list(ra) == ["00:00:00.000", "01:00:00.000"]
    assert list(dec) == ["-00:15:00.000", "-73:00:00.000"]


# ---------------------------------------------------------------------------- call conventions

def test_single_values_give_scalars(flc):
    ra, dec = quiet(pixtosky.xy2rd, f"{flc}[sci,1]", 100.0, 200.0, hms=False)
    assert np.ndim(ra) == 0 and np.ndim(dec) == 0
    x, y = quiet(skytopix.rd2xy, f"{flc}[sci,1]", ra, dec)
    assert np.ndim(x) == 0 and abs(x - 100.0) < 1e-6 and abs(y - 200.0) < 1e-6
    ra_text, dec_text = quiet(pixtosky.xy2rd, f"{flc}[sci,1]", 100.0, 200.0)  # hms=True default
    assert isinstance(ra_text, str) or np.ndim(ra_text) == 0
    x2, y2 = quiet(skytopix.rd2xy, f"{flc}[sci,1]", str(ra_text), str(dec_text))
    assert abs(x2 - 100.0) < 0.01 and abs(y2 - 200.0) < 0.01  # text rounded to 1e-6 s


def test_extension_notations_agree(flc):
    a = quiet(pixtosky.xy2rd, f"{flc}[sci,2]", [10, 20], [30, 40], hms=False)
    b = quiet(pixtosky.xy2rd, f"{flc}[4]", [10, 20], [30, 40], hms=False)
    c = quiet(pixtosky.xy2rd, f"{flc}['SCI',2]", [10, 20], [30, 40], hms=False)
    assert np.array_equal(a, b) and np.array_equal(a, c)
    assert parse_extension("f.fits[sci]") == ("f.fits", ("SCI", 1))
    assert parse_extension("f.fits") == ("f.fits", None)


def test_sexagesimal_sky_inputs(flc):
    spec = f"{flc}[sci,1]"
    ra, dec = quiet(pixtosky.xy2rd, spec, [500.0, 900.0], [700.0, 300.0], hms=False)
    rs, ds = pixtosky.sexagesimal(ra, dec, 8)
    x0, y0 = quiet(skytopix.rd2xy, spec, ra, dec)
    for ra_in, dec_in in ((list(rs), list(ds)),
                          ([r.replace(":", " ") for r in rs], [d.replace(":", " ") for d in ds]),
                          ([r.replace(":", "h", 1).replace(":", "m") + "s" for r in rs],
                           [d.replace(":", "d", 1).replace(":", "m") + "s" for d in ds])):
        x1, y1 = quiet(skytopix.rd2xy, spec, ra_in, dec_in)
        assert np.hypot(x1 - x0, y1 - y0).max() < 1e-3


def test_coordfile_ascii_and_output_files(flc, tmp_path):
    from drizzlepac import pixtosky as dp_p2s
    from drizzlepac import skytopix as dp_s2p

    spec = f"{flc}[sci,2]"
    coords = tmp_path / "xy.dat"
    coords.write_text("# id x y\n1, 100.5, 200.25\n2, 3000, 1500\n3, 17, 2000\n")
    ours = quiet(pixtosky.xy2rd, spec, coordfile=str(coords), colnames=["c2", "c3"], separator=",",
                 hms=False, output=str(tmp_path / "radec.txt"))
    theirs = quiet(dp_p2s.xy2rd, spec, coordfile=str(coords), colnames="c2,c3", separator=",",
                   hms=False)
    assert sky_sep_mas(*ours, *theirs).max() < 1.0
    written = np.loadtxt(tmp_path / "radec.txt")
    assert written.shape == (3, 2) and np.allclose(written[:, 0], ours[0], atol=1e-6)

    # sky -> pixel from a file of sexagesimal values spread over three columns each
    rs, ds = pixtosky.sexagesimal(*ours, 6)
    rows = [f"{r.replace(':', ' ')} {d.replace(':', ' ')}" for r, d in zip(rs, ds)]
    skyfile = tmp_path / "radec_sex.dat"
    skyfile.write_text("\n".join(rows) + "\n")
    x1, y1 = quiet(skytopix.rd2xy, spec, coordfile=str(skyfile), colnames=["c1,c2,c3", "c4,c5,c6"])
    x0, y0 = quiet(dp_s2p.rd2xy, spec, coordfile=str(skyfile), colnames=["c1,c2,c3", "c4,c5,c6"])
    assert np.hypot(x1 - x0, y1 - y0).max() < 1e-4
    assert np.allclose(x1, [100.5, 3000, 17], atol=1e-3)


def test_coordfile_fits_table(flc, tmp_path):
    from astropy.table import Table

    table = tmp_path / "cat.fits"
    Table({"XIMAGE": [10.0, 20.0], "YIMAGE": [30.0, 40.0]}).write(table)
    ra, dec = quiet(pixtosky.xy2rd, f"{flc}[sci,1]", coordfile=str(table),
                    colnames="ximage,yimage", hms=False)
    ra2, dec2 = quiet(pixtosky.xy2rd, f"{flc}[sci,1]", [10.0, 20.0], [30.0, 40.0], hms=False)
    assert np.array_equal(ra, ra2) and np.array_equal(dec, dec2)


def test_rd2xy_falls_back_to_linear_wcs_and_says_so(flc):
    spec = f"{flc}[sci,1]"
    ra, dec = quiet(pixtosky.xy2rd, spec, 2000.0, 1000.0, hms=False)
    with pytest.warns(UserWarning, match="did not converge for 1 of 2 positions"):
        x, y = quiet(skytopix.rd2xy, spec, [150.0, ra], [80.0, dec])
    lx, ly = open_wcs(spec).wcs_world2pix([150.0], [80.0], 1)
    assert np.isclose(x[0], lx[0]) and np.isclose(y[0], ly[0])
    assert abs(x[1] - 2000.0) < 1e-6 and abs(y[1] - 1000.0) < 1e-6  # the good one is still exact


# ------------------------------------------------------------------------------------ bad input

@pytest.mark.parametrize("spec, message", [
    ("{flc}[sci,3]", r"\[SCI,3\]: no such extension"),
    ("{flc}[0]", "no celestial WCS"),
    ("{flc}", "has 2 SCI extensions; name one"),
    ("{flc}[19]", "is a table"),
    ("{tmp}/missing.fits[sci,1]", "no such file"),
])
def test_bad_images_name_the_file(flc, tmp_path, spec, message):
    spec = spec.format(flc=flc, tmp=tmp_path)
    with pytest.raises(InputError, match=message) as err:
        quiet(pixtosky.xy2rd, spec, 1.0, 1.0)
    assert parse_extension(spec)[0] in str(err.value)


def test_bad_coordinate_files_name_the_file(flc, tmp_path):
    bad = tmp_path / "two_columns.dat"
    bad.write_text("1 2\n3 4\n")
    with pytest.raises(InputError, match=r"two_columns.dat: column c3 requested but the file has 2"):
        pixtosky.xy2rd(f"{flc}[sci,1]", coordfile=str(bad), colnames="c1,c3")
    text = tmp_path / "text.dat"
    text.write_text("1 a\n3 b\n")
    with pytest.raises(InputError, match=r"text.dat: column c2 is not numeric \(e.g. 'a'\)"):
        pixtosky.xy2rd(f"{flc}[sci,1]", coordfile=str(text))
    with pytest.raises(InputError, match="nope.dat: coordinate file not found"):
        skytopix.rd2xy(f"{flc}[sci,1]", coordfile=str(tmp_path / "nope.dat"))
    with pytest.raises(InputError, match="cannot read 'xx:yy' as an angle"):
        skytopix.rd2xy(f"{flc}[sci,1]", "xx:yy", "10:00:00")


# ----------------------------------------------------------------------------------- commands

def test_console_scripts(flc, tmp_path, capsys):
    assert pixtosky.main([f"{flc}[sci,1]", "100,200", "300,400", "--hms"]) == 0
    out = capsys.readouterr().out
    assert "100.0000  300.0000" in out and "+63:" in out
    ra, dec = quiet(pixtosky.xy2rd, f"{flc}[sci,1]", 100.0, 300.0, hms=False)
    assert skytopix.main([f"{flc}[sci,1]", f"{ra}", f"{dec}", "--output", str(tmp_path / "xy.txt")]) == 0
    x, y = np.loadtxt(tmp_path / "xy.txt")
    assert abs(x - 100) < 1e-3 and abs(y - 300) < 1e-3  # precision 3 (DrizzlePac's cfg)
    rs, ds = pixtosky.sexagesimal([ra], [-abs(dec)], 6)  # a negative d:m:s must pass argparse
    assert skytopix.main([f"{flc}[sci,1]", rs[0], ds[0]]) == 0
    assert pixtopix.main([f"{flc}[sci,1]", f"{flc}[sci,2]", "100", "300"]) == 0
    assert pixtopix.main([f"{flc}[sci,1]", "100", "300", "--direction", "backward"]) == 0
    capsys.readouterr()
    assert pixtosky.main([f"{flc}[sci,7]", "1", "1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("pixtosky: error: ") and "[SCI,7]: no such extension" in err

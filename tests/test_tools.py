"""photeq, pixreplace, resetbits, updatenpol and mapreg against DrizzlePac's own functions, run on
copies of real HST files (DrizzlePac edits in place; ours writes new files unless told)."""
import contextlib
import functools
import gzip
import hashlib
import io
import os
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from snakedrizzle.errors import InputError
from snakedrizzle.tools import mapreg, photeq, pixreplace, resetbits, updatenpol

HST = Path(__file__).resolve().parents[2] / "shared" / "data" / "hst"
CUTOUTS = HST / "cutouts"
REFFILES = HST / "acs_wfc_distortion" / "reffiles"


def quiet(func, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()):
        return func(*args, **kwargs)


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def same_fits(a, b):
    diff = fits.FITSDiff(str(a), str(b), ignore_keywords=["CHECKSUM", "DATASUM"])
    assert diff.identical, diff.report()


def copies(folder, names, source=CUTOUTS):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(source / name, folder / name)
    return folder


# ------------------------------------------------------------------------------------- photeq

PHOTEQ_FILES = ["test_drizzlepac_flt.fits", "sample_svm_flt.fits", "sample_svm_flc.fits"]


def _photeq_inputs(folder):
    copies(folder, PHOTEQ_FILES)
    # a second chip and a primary header that disagree, so every branch has work to do
    fits.setval(folder / "sample_svm_flc.fits", "PHOTFLAM", ext=4, value=2.0e-19)
    fits.setval(folder / "sample_svm_flc.fits", "PHOTFLAM", ext=0, value=1.7e-19)
    return folder


@pytest.mark.parametrize("order, kwargs", [
    ([0, 1, 2], {}),
    ([2, 0, 1], {"ref_phot_ext": ("SCI", 2)}),
    ([1, 2, 0], {"ref_phot": 1.0e-19, "aux_phot_kwd": ["PHOTFNU", "PHTFLAM1"]}),
])
def test_photeq_matches_drizzlepac(tmp_path, monkeypatch, order, kwargs):
    from drizzlepac import photeq as dp

    files = ",".join(PHOTEQ_FILES[i] for i in order)
    theirs, ours, new = (_photeq_inputs(tmp_path / d) for d in ("dp", "ours", "new"))
    monkeypatch.chdir(theirs)
    with contextlib.redirect_stderr(io.StringIO()):
        quiet(dp.photeq, files, readonly=False, logfile=None, **kwargs)
    monkeypatch.chdir(ours)
    quiet(photeq.photeq, files, readonly=False, logfile=None, inplace=True, **kwargs)
    monkeypatch.chdir(new)
    before = {f: sha(f) for f in PHOTEQ_FILES}
    records = quiet(photeq.photeq, files, readonly=False, logfile=None, **kwargs)
    assert {f: sha(f) for f in PHOTEQ_FILES} == before  # inputs untouched by default
    for name in PHOTEQ_FILES:
        same_fits(theirs / name, ours / name)
        same_fits(theirs / name, new / name.replace(".fits", "_photeq.fits"))
    assert [r["output"] for r in records] == [PHOTEQ_FILES[i].replace(".fits", "_photeq.fits")
                                              for i in order]


def test_photeq_readonly_reports_only(tmp_path, monkeypatch):
    folder = _photeq_inputs(tmp_path)
    monkeypatch.chdir(folder)
    before = {f: sha(f) for f in PHOTEQ_FILES}
    records = quiet(photeq.photeq, ",".join(PHOTEQ_FILES))  # readonly=True is the default
    assert {f: sha(f) for f in PHOTEQ_FILES} == before
    assert sorted(os.listdir(folder)) == sorted(PHOTEQ_FILES + ["photeq.log"])
    flc = records[2]["changes"]
    assert ("set", 4, "PHOTFLAM", 2.0e-19, 2.2446e-20) in flc
    assert ("scale", 5, 2.0e-19 / 2.2446e-20) in flc  # ERR,2 follows SCI,2
    assert "READONLY" in Path("photeq.log").read_text()
    with pytest.raises(InputError, match="no 'NOSUCHKW' found"):
        quiet(photeq.photeq, "sample_svm_flt.fits", phot_kwd="NOSUCHKW", logfile=None)


# ---------------------------------------------------------------------- resetbits, pixreplace

def _flagged(folder):
    copies(folder, ["sample_svm_flc.fits", "test_drizzlepac_flt.fits"])
    with fits.open(folder / "sample_svm_flc.fits", mode="update") as hdul:
        hdul["DQ", 1].data[:3] |= 4096
        hdul["DQ", 2].data[5:] |= 4096 | 8192 | 16
        hdul["SCI", 1].data[2, 3:6] = np.nan
        hdul["SCI", 2].data[1, 1] = -7.0
    return folder


def test_resetbits_matches_drizzlepac(tmp_path, monkeypatch):
    from drizzlepac import resetbits as dp

    theirs, ours = _flagged(tmp_path / "dp"), _flagged(tmp_path / "ours")
    monkeypatch.chdir(theirs)
    for name in ("sample_svm_flc.fits", "test_drizzlepac_flt.fits"):
        dp.reset_dq_bits(name, "4096,8192")  # one call per file: DrizzlePac reuses the extver list
    monkeypatch.chdir(ours)
    records = quiet(resetbits.reset_dq_bits, "sample_svm_flc.fits,test_drizzlepac_flt.fits",
                    "4096,8192", outdir="out")
    assert records[0]["changed"] == {"DQ,1": 30, "DQ,2": 50}
    for name in ("sample_svm_flc.fits", "test_drizzlepac_flt.fits"):
        same_fits(theirs / name, ours / "out" / name)
    assert (ours / "sample_svm_flc.fits").read_bytes() != (theirs / "sample_svm_flc.fits").read_bytes()
    assert np.all(fits.getdata(ours / "out" / "sample_svm_flc.fits", ("DQ", 2))[5:] & 16)


def test_resetbits_modes(tmp_path, monkeypatch):
    folder = _flagged(tmp_path)
    monkeypatch.chdir(folder)
    before = sha("sample_svm_flc.fits")
    dry = quiet(resetbits.reset_dq_bits, "sample_svm_flc.fits", 4096, extver=2, dryrun=True)
    assert dry[0]["changed"] == {"DQ,2": 50} and dry[0]["output"] is None
    assert sha("sample_svm_flc.fits") == before and len(os.listdir(".")) == 2
    quiet(resetbits.reset_dq_bits, "sample_svm_flc.fits", 4096)
    assert Path("sample_svm_flc_resetbits.fits").exists() and sha("sample_svm_flc.fits") == before
    with pytest.raises(InputError, match="exists already; use clobber=True"):
        resetbits.reset_dq_bits("sample_svm_flc.fits", 4096)
    quiet(resetbits.reset_dq_bits, "sample_svm_flc.fits", 4096, inplace=True)
    assert not np.any(fits.getdata("sample_svm_flc.fits", ("DQ", 1)) & 4096)
    with pytest.raises(InputError, match=r"sample_svm_flc.fits\[dq,3\]: no such extension"):
        resetbits.reset_dq_bits("sample_svm_flc.fits", 4096, extver=3, dryrun=True)
    with pytest.raises(InputError, match="nothere_flt.fits: no such file"):
        resetbits.reset_dq_bits("nothere_flt.fits", 4096)


def test_pixreplace_matches_drizzlepac(tmp_path, monkeypatch):
    from drizzlepac import pixreplace as dp

    theirs, ours = _flagged(tmp_path / "dp"), _flagged(tmp_path / "ours")
    monkeypatch.chdir(theirs)
    quiet(dp.replace, "sample_svm_flc.fits")
    quiet(dp.replace, "sample_svm_flc.fits", pixvalue=-7, newvalue=3, ext=[4])
    monkeypatch.chdir(ours)
    dry = quiet(pixreplace.replace, "sample_svm_flc.fits", dryrun=True)
    assert dry[0]["changed"]["SCI,1"] == 3
    quiet(pixreplace.replace, "sample_svm_flc.fits", inplace=True)
    quiet(pixreplace.replace, "sample_svm_flc.fits", pixvalue=-7, newvalue=3, ext="4",
          output="replaced.fits")
    same_fits(theirs / "sample_svm_flc.fits", ours / "replaced.fits")


# ---------------------------------------------------------------------------------- updatenpol

@pytest.fixture(scope="module")
def raw_wfc(tmp_path_factory):
    """j94f05bgq before updatenpol; IDCTAB pointed at jref$ like the other reference files."""
    path = tmp_path_factory.mktemp("raw") / "j94f05bgq_flt.fits"
    with gzip.open(HST / "acs_wfc_distortion" / "j94f05bgq_flt.fits.gz") as fin, open(path, "wb") as f:
        shutil.copyfileobj(fin, f)
    fits.setval(path, "IDCTAB", value="jref$postsm4_idc.fits")
    return path


@pytest.fixture
def one_per_role(tmp_path, monkeypatch):
    """A reference directory with one candidate per choice, so DrizzlePac's listing-order
    choice cannot differ from ours; plus the DGEOFILE DrizzlePac opens (any FITS file will do)."""
    refdir = copies(tmp_path / "ref", ["postsm4_idc.fits", "02c14514j_npl.fits",
                                       "02c1450rj_npl.fits", "02c1450oj_d2i.fits"], REFFILES)
    shutil.copyfile(refdir / "02c1450rj_npl.fits", refdir / "qbu16424j_dxy.fits")
    monkeypatch.setenv("jref", str(refdir) + os.sep)
    monkeypatch.setenv("ASTROMETRY_STEP_CONTROL", "OFF")
    return refdir


def test_updatenpol_matches_drizzlepac(tmp_path, raw_wfc, one_per_role, monkeypatch):
    from drizzlepac import updatenpol as dp

    from snakedrizzle.io.extspec import open_wcs

    for d in ("dp", "ours"):
        (tmp_path / d).mkdir()
        shutil.copyfile(raw_wfc, tmp_path / d / raw_wfc.name)
    monkeypatch.chdir(tmp_path / "dp")
    quiet(dp.update, raw_wfc.name)
    monkeypatch.chdir(tmp_path / "ours")
    before = sha(raw_wfc.name)
    records = quiet(updatenpol.update, raw_wfc.name)
    assert sha(raw_wfc.name) == before
    out = records[0]["output"]
    assert out == "j94f05bgq_flt_updatenpol.fits"
    assert records[0]["NPOLFILE"] == "jref$02c14514j_npl.fits"
    assert records[0]["D2IMFILE"] == "jref$02c1450oj_d2i.fits"
    same_fits(tmp_path / "dp" / raw_wfc.name, out)
    w = open_wcs(f"{out}[sci,2]")
    assert w.sip is not None and w.cpdis1 is not None and w.det2im1 is not None


def test_updatenpol_selection_from_the_full_reference_set(raw_wfc, monkeypatch, tmp_path):
    monkeypatch.setenv("jref", str(REFFILES) + os.sep)
    monkeypatch.chdir(tmp_path)
    # newest applicable file per role (DrizzlePac: last in directory-listing order)
    rec = quiet(updatenpol.update, str(raw_wfc), dryrun=True)[0]
    assert (rec["NPOLFILE"], rec["D2IMFILE"]) == ("jref$02c14514j_npl.fits", "jref$02c1450oj_d2i.fits")
    f814w = copies(tmp_path, [raw_wfc.name], raw_wfc.parent) / raw_wfc.name
    fits.setval(f814w, "FILTER1", value="CLEAR1L")
    fits.setval(f814w, "FILTER2", value="F814W")
    rec = quiet(updatenpol.update, str(f814w), refdir=str(REFFILES), dryrun=True)[0]
    assert rec["NPOLFILE"] == os.path.join(str(REFFILES), "02c1450rj_npl.fits")
    fits.setval(f814w, "FILTER2", value="F999W")
    with pytest.raises(InputError, match=r"no NPOLFILE in .* FILTER2=F999W"):
        quiet(updatenpol.update, str(f814w), dryrun=True)
    monkeypatch.delenv("jref")
    with pytest.raises(InputError, match="environment variable 'jref' is not set"):
        updatenpol.update(str(raw_wfc), dryrun=True)


def test_updatenpol_local_copies(tmp_path, raw_wfc, one_per_role, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rec = quiet(updatenpol.update, str(raw_wfc), local=True, outdir="work", wcsupdate=False)[0]
    assert rec["NPOLFILE"] == os.path.join("work", "02c14514j_npl.fits")
    assert Path("work/02c14514j_npl.fits").exists() and Path("work/02c1450oj_d2i.fits").exists()
    assert fits.getval("work/j94f05bgq_flt.fits", "NPOLFILE") == rec["NPOLFILE"]
    assert "WCSDVARR" not in fits.open("work/j94f05bgq_flt.fits")  # wcsupdate=False


# -------------------------------------------------------------------------------------- mapreg

@pytest.fixture(scope="module")
def wfc(tmp_path_factory, raw_wfc):
    """j94f05bgq with full distortion (through our updatenpol)."""
    folder = tmp_path_factory.mktemp("wfc")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("jref", str(REFFILES) + os.sep)
        mp.setenv("ASTROMETRY_STEP_CONTROL", "OFF")
        quiet(updatenpol.update, str(raw_wfc), output=str(folder / "j94f05bgq_flt.fits"))
    return folder / "j94f05bgq_flt.fits"


SKY_REGIONS = """# Region file format: DS9 version 4.1
global color=green width=1 font="helvetica 10 normal roman" select=1
fk5
circle(0:22:31.336,-72:03:16.46,2.5") # color=red
ellipse(5.63,-72.055,3",1.5",30)
box(0:22:40.97,-72:04:50.43,4",2",15)
-circle(5.6305,-72.0545,0.001)
polygon(5.630,-72.054,5.632,-72.054,5.632,-72.0535)
point(5.631,-72.0546) # point=circle
annulus(5.62,-72.06,1",2",3")
"""


@pytest.fixture
def drizzlepac_mapreg(monkeypatch):
    """DrizzlePac's mapreg made to run here: it imports 'pyregion' (installed as stregion),
    stregion's kapteyn code calls numpy's removed flatten(1), and mapreg reads HDUs from a
    closed, lazily loaded HDUList (so it finds no SCI extension)."""
    import stregion
    import stregion.kapteyn_celestial as kc
    import stregion.wcs_helper

    monkeypatch.setitem(sys.modules, "pyregion", stregion)
    monkeypatch.setitem(sys.modules, "pyregion.wcs_helper", stregion.wcs_helper)

    def longlat2xyz(longlat):
        lon, lat = (np.radians(np.asarray(longlat[:, i], float).ravel()) for i in (0, 1))
        return np.asmatrix(np.vstack([np.cos(lon) * np.cos(lat), np.sin(lon) * np.cos(lat),
                                      np.sin(lat)]))

    def xyz2longlat(xyz):
        x, y, z = (np.asarray(xyz[i], float).ravel() for i in range(3))
        return np.asmatrix([np.degrees(np.arctan2(y, x)) % 360.0,
                            np.degrees(np.arctan2(z, np.hypot(x, y)))]).T

    for module in (kc, stregion.wcs_helper):
        monkeypatch.setattr(module, "longlat2xyz", longlat2xyz)
        monkeypatch.setattr(module, "xyz2longlat", xyz2longlat)
    from drizzlepac import mapreg as dp

    eager = types.SimpleNamespace(**{k: getattr(fits, k) for k in dir(fits) if not k.startswith("_")})
    eager.open = functools.partial(fits.open, lazy_load_hdus=False)
    monkeypatch.setattr(dp, "fits", eager)
    return dp


def read_shapes(path):
    """(sign+shape, numbers) per region of an image-coordinate region file, as astropy regions
    reads it (an annulus of three radii is two annuli): DS9's 1-based pixels, semi-axes for
    ellipses, angles in degrees."""
    from snakedrizzle.io.regions import is_included, read_regions

    out = []
    for region in read_regions(path):
        numbers = []
        for name in region._params:
            value = getattr(region, name)
            if hasattr(value, "xy"):
                numbers += list(np.ravel(np.column_stack([np.ravel(value.x), np.ravel(value.y)])) + 1)
            else:
                half = name.endswith(("width", "height")) and "Ellipse" in type(region).__name__
                numbers.append(float(getattr(value, "value", value)) / (2 if half else 1))
        shape = type(region).__name__.removesuffix("PixelRegion").lower()
        sign = "" if is_included(region) else "-"
        out.append((sign + shape, np.array(numbers)))
    return out


@pytest.mark.parametrize("filter", [None, "fast"])
def test_mapreg_matches_drizzlepac(tmp_path, wfc, drizzlepac_mapreg, monkeypatch, filter):
    monkeypatch.chdir(tmp_path)
    Path("sky.reg").write_text(SKY_REGIONS)
    Path("chip1.reg").write_text("image\nbox(100,100,20,10,0) # fixed\n")
    for d in ("dp", "ours"):
        os.mkdir(d)
    quiet(drizzlepac_mapreg.map_region_files, "sky.reg", str(wfc), img_wcs_ext="sci",
          outpath="dp", catfname="cat.txt", chip_reg=["chip1.reg"], filter=filter)
    quiet(mapreg.map_region_files, "sky.reg", str(wfc), img_wcs_ext="sci", outpath="ours",
          catfname="cat.txt", chip_reg=["chip1.reg"], filter=filter)
    assert sorted(os.listdir("dp")) == sorted(os.listdir("ours"))
    assert Path("dp/cat.txt").read_text() == Path("ours/cat.txt").read_text()
    for name in os.listdir("dp"):
        if name.endswith(".reg"):
            theirs, ours = read_shapes(Path("dp") / name), read_shapes(Path("ours") / name)
            assert [s[0] for s in theirs] == [s[0] for s in ours]
            for (head, a), (_, b) in zip(theirs, ours):
                tol = 1e-3 if head.endswith(("rectangle", "ellipse")) else 1e-4  # angles in degrees
                if head.endswith(("rectangle", "ellipse")):  # the same angle, whichever turn
                    a[-1], b[-1] = a[-1] % 360.0, b[-1] % 360.0
                assert np.abs(a - b).max() < tol, (name, head, a, b)


def test_mapreg_image_regions_and_errors(tmp_path, wfc, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("img.reg").write_text("image\ncircle(1000.5,500.25,12)\nbox(300,400,40,20,30)\n")
    cat = mapreg.map_region_files("img.reg", str(wfc), refimg=f"{wfc}[sci,1]", outpath="r",
                                  catfname="cat.txt", filter="fast")
    assert cat == {str(wfc): ["j94f05bgq_flt_sci1_twreg.reg", "None"]}
    shapes = read_shapes("r/j94f05bgq_flt_sci1_twreg.reg")
    assert np.allclose(shapes[0][1], [1000.5, 500.25, 12], atol=1e-4)  # same chip: round trip
    assert np.allclose(shapes[1][1], [300, 400, 40, 20, 30], atol=1e-3)
    Path("bad.reg").write_text("fk5\npanda(1,2,3,4,5,6,7,8)\n")
    with pytest.raises(InputError, match=r"bad.reg: line 2: unsupported region 'panda'"):
        mapreg.map_region_files("bad.reg", str(wfc), outpath="r")
    assert mapreg.main(["img.reg", str(wfc), "--outpath", "r2"]) == 1
    assert "give refimg" in capsys.readouterr().err


# ---------------------------------------------------------------------------- console scripts

def test_console_scripts(tmp_path, monkeypatch, raw_wfc, one_per_role, capsys):
    folder = _flagged(tmp_path)
    monkeypatch.chdir(folder)
    assert resetbits.main(["sample_svm_flc.fits", "--bits", "4096", "--dry-run"]) == 0
    assert "would reset bits 4096 in 30 pixels" in capsys.readouterr().out
    assert pixreplace.main(["sample_svm_flc.fits", "--pixvalue", "-7", "--newvalue", "1",
                            "--ext", "sci,2", "--in-place"]) == 0
    assert fits.getdata("sample_svm_flc.fits", ("SCI", 2))[1, 1] == 1.0
    assert photeq.main(["sample_svm_flc.fits", "test_drizzlepac_flt.fits", "--no-readonly",
                        "--outdir", "eq", "--logfile", ""]) == 0
    assert sorted(os.listdir("eq")) == ["sample_svm_flc.fits", "test_drizzlepac_flt.fits"]
    assert updatenpol.main([str(raw_wfc), "--dry-run"]) == 0
    assert "would set NPOLFILE = 'jref$02c14514j_npl.fits'" in capsys.readouterr().out
    assert resetbits.main(["missing.fits"]) == 1
    assert capsys.readouterr().err == (f"resetbits: error: missing.fits: no such file (looked for "
                                       f"{folder / 'missing.fits'})\n")

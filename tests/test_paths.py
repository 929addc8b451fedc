"""Bad paths, each one clear InputError naming the file and where it came from (issue 11, items 6
and 11): missing members of @-lists, comma lists and associations, globs matching nothing,
folders given as inputs, rootnames the workflow cannot carry, unreadable and non-FITS files;
and output files of the coordinate and header tools, which never create a folder the user did
not name."""
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from snakedrizzle.coords import pixtopix, pixtosky, skytopix
from snakedrizzle.errors import InputError
from snakedrizzle.io.exposure import read_exposure
from snakedrizzle.io.extspec import output_paths_for
from snakedrizzle.io.inputs import ROOTNAME_PATTERN, expand_inputs, resolve_inputs
from snakedrizzle.tools import mapreg, photeq, pixreplace

REPO = Path(__file__).resolve().parent.parent
HST = REPO.parent / "shared" / "data" / "hst"
CHIP = HST / "cutouts" / "sample_flc_header.fits"  # a real FLC header: SCI,1 has a full WCS
ROOTS = ("ja1b02abq", "ja1b02acq", "ja1b02adq")


@pytest.fixture
def folder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for root in ROOTS:
        fits.PrimaryHDU().writeto(data / f"{root}_flt.fits")
    return data


def _raises(call, *fragments):
    """``call()`` raises one InputError whose message holds every fragment (plain text)."""
    with pytest.raises(InputError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert str(fragment) in message, (fragment, message)
    return message


# ------------------------------------------------------------------------------ input lists

def test_missing_at_list_member_names_member_and_list(folder):
    (folder / "in.lst").write_text(f"{ROOTS[0]}_flt.fits\nja1b02zzq_flt.fits\n")
    _raises(lambda: resolve_inputs(f"@{folder}/in.lst"),
            f"{folder}/ja1b02zzq_flt.fits: no such file", f"listed in @{folder}/in.lst")


def test_missing_comma_member_names_member_and_list(folder, monkeypatch):
    monkeypatch.chdir(folder)
    _raises(lambda: resolve_inputs(f"{ROOTS[0]}_flt.fits,ja1b02zzq_flt.fits"),
            "ja1b02zzq_flt.fits: no such file", folder / "ja1b02zzq_flt.fits",
            f"input list '{ROOTS[0]}_flt.fits,ja1b02zzq_flt.fits'")
    # a Python list is a comma list too; the tools' expander says the same
    _raises(lambda: expand_inputs([f"{ROOTS[1]}_flt.fits", "gone.fits"]), "gone.fits: no such file")


def test_glob_matching_nothing_names_pattern_and_absolute_folder(folder, monkeypatch):
    monkeypatch.chdir(folder.parent)
    _raises(lambda: resolve_inputs("data/*_flc.fits"),
            "data/*_flc.fits: the pattern matches no file", f"looked in {folder}")
    _raises(lambda: resolve_inputs("nodata/*_flt.fits"),
            f"looked in {folder.parent / 'nodata'}, which does not exist")


def test_directory_as_input(folder):
    _raises(lambda: resolve_inputs(str(folder)),
            f"{folder}: is a directory, expected FITS files or a glob")
    (folder / "sub_flt.fits").mkdir()  # a folder a glob happens to match
    _raises(lambda: resolve_inputs(f"{folder}/*_flt.fits"), "sub_flt.fits: is a directory",
            "matched by")


def test_dash_and_dot_rootnames_are_accepted(folder):
    for name in ("obs-1_flt.fits", "my_obs.2_flt.fits"):
        fits.PrimaryHDU().writeto(folder / name)
    paths, _ = resolve_inputs(f"{folder}/obs-1_flt.fits,{folder}/my_obs.2_flt.fits")
    assert [os.path.basename(p) for p in paths] == ["obs-1_flt.fits", "my_obs.2_flt.fits"]


@pytest.mark.parametrize("name", ["obs 1_flt.fits", "-obs_flt.fits", "obs$1_flt.fits", ".obs_flt.fits"])
def test_rootnames_the_workflow_cannot_carry_are_named(folder, name):
    fits.PrimaryHDU().writeto(folder / name)
    _raises(lambda: resolve_inputs(str(folder / name)), f"{folder / name}: rootname",
            "letters, digits")


def test_rule_wildcard_accepts_what_the_library_accepts():
    """The {root} wildcard of the rules must take every rootname resolve_inputs lets through,
    or such a run ends in an obscure MissingInputException (issue 11 item 6)."""
    text = (REPO / "rules" / "common.smk").read_text()
    given = re.search(r'^\s*root=(.+?),?\s*$', text, re.MULTILINE).group(1)
    if given == "ROOTNAME_PATTERN":  # imported from snakedrizzle.io.inputs: one definition
        constraint = ROOTNAME_PATTERN
    else:
        constraint = re.fullmatch(r'r"([^"]+)"', given).group(1)
    for root in ("j8bt06nyq", "obs-1", "my_obs.2", "A1"):
        assert re.fullmatch(ROOTNAME_PATTERN, root)
        assert re.fullmatch(constraint, root), (constraint, root)


def test_flt_and_flc_of_one_exposure(folder):
    shutil.copy(folder / f"{ROOTS[0]}_flt.fits", folder / f"{ROOTS[0]}_flc.fits")
    _raises(lambda: resolve_inputs(f"{folder}/{ROOTS[0]}_fl?.fits"),
            f"rootname {ROOTS[0]} is given twice", "FLT and FLC")


def test_at_list_names_are_relative_to_the_list_folder(folder, tmp_path, monkeypatch):
    """DrizzlePac reads an @file's names against the list's own folder, not the caller's."""
    (folder / "in.lst").write_text(f"# two of three\n{ROOTS[2]}_flt.fits  ivm2.fits\n"
                                   f"{ROOTS[0]}_flt.fits\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    paths, ivm = resolve_inputs(f"@{os.path.relpath(folder, elsewhere)}/in.lst")
    assert [os.path.abspath(p) for p in paths] == [str(folder / f"{ROOTS[2]}_flt.fits"),
                                                   str(folder / f"{ROOTS[0]}_flt.fits")]
    assert [os.path.abspath(v) for v in ivm.values()] == [str(folder / "ivm2.fits")]
    _raises(lambda: resolve_inputs("@missing.lst"), "missing.lst: @-list file not found",
            elsewhere / "missing.lst")


def test_association_with_a_missing_member(folder):
    table = Table({"MEMNAME": ["JA1B02ABQ", "JA1B02AZQ", "JA1B02010"],
                   "MEMTYPE": ["EXP-DTH", "EXP-DTH", "PROD-DTH"],
                   "MEMPRSNT": np.array([True, True, True])})
    fits.HDUList([fits.PrimaryHDU(), fits.table_to_hdu(table)]).writeto(folder / "ja1b02010_asn.fits")
    _raises(lambda: resolve_inputs(str(folder / "ja1b02010_asn.fits")),
            f"{folder}/ja1b02010_asn.fits: member ja1b02azq has no ja1b02azq_flt.fits",
            f"in {folder}")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root reads files of mode 000: the case cannot fail")
def test_unreadable_file(folder):
    path = folder / f"{ROOTS[1]}_flt.fits"
    path.chmod(0)
    try:
        _raises(lambda: resolve_inputs(f"{folder}/*_flt.fits"),
                f"{path}: cannot be read: permission denied")
    finally:
        path.chmod(0o644)


def test_non_fits_file_named_like_an_exposure(folder):
    path = folder / "ja1b02aeq_flt.fits"
    path.write_text("SIMPLE? no, a text file someone renamed\n")
    assert str(path) in resolve_inputs(str(path))[0]  # names are resolved without reading
    _raises(lambda: read_exposure(path), f"{path}: not a readable FITS file")


def test_inputs_stay_byte_identical(folder):
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    for spec in (f"{folder}/*_flc.fits", str(folder), f"{folder}/x_flt.fits,{folder}/*_flt.fits"):
        with pytest.raises(InputError):
            resolve_inputs(spec)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


# ------------------------------------------------------------------------ output folders

def test_pixtosky_does_not_create_a_missing_output_folder(tmp_path, capsys):
    target = tmp_path / "nonexist" / "out.txt"
    status = pixtosky.main([f"{CHIP}[sci,1]", "100", "200", "--output", str(target)])
    assert status == 1
    err = capsys.readouterr().err
    assert err == (f"pixtosky: error: {target}: the output folder {tmp_path / 'nonexist'} "
                   "does not exist; create it first\n")
    assert not (tmp_path / "nonexist").exists()


@pytest.mark.parametrize("call", [
    lambda out: pixtosky.xy2rd(f"{CHIP}[sci,1]", 100, 200, output=out),
    lambda out: skytopix.rd2xy(f"{CHIP}[sci,1]", 150.1, 2.2, output=out),
    lambda out: pixtopix.tran(f"{CHIP}[sci,1]", f"{CHIP}[sci,1]", x=100, y=200, output=out),
], ids=["pixtosky", "skytopix", "pixtopix"])
def test_coordinate_tools_check_the_output_folder_first(tmp_path, call, capsys):
    _raises(lambda: call(str(tmp_path / "a" / "b" / "out.txt")), "the output folder",
            tmp_path / "a" / "b")
    assert capsys.readouterr().out == ""  # nothing computed or printed before the error
    assert not (tmp_path / "a").exists()
    _raises(lambda: call(str(tmp_path)), "is a directory; give an output file name")


def test_coordinate_output_into_an_existing_folder_is_written(tmp_path):
    out = tmp_path / "out.txt"
    pixtosky.xy2rd(f"{CHIP}[sci,1]", 100, 200, output=str(out), verbose=False)
    assert out.read_text().startswith("# Coordinates converted from")


@pytest.fixture
def flc(tmp_path):
    path = tmp_path / "sample_svm_flc.fits"
    shutil.copyfile(HST / "cutouts" / "sample_svm_flc.fits", path)
    return path


def test_header_tools_do_not_create_missing_folders(tmp_path, flc):
    before = flc.read_bytes()
    _raises(lambda: pixreplace.replace(str(flc), output=str(tmp_path / "no" / "x.fits")),
            f"the output folder {tmp_path / 'no'} does not exist")
    _raises(lambda: pixreplace.replace(str(flc), outdir=str(tmp_path / "no" / "deeper")),
            "cannot create the output folder", f"parent {tmp_path / 'no'} does not exist")
    _raises(lambda: photeq.photeq(str(flc), readonly=True, logfile=str(tmp_path / "no" / "p.log")),
            f"the output folder {tmp_path / 'no'} does not exist")
    _raises(lambda: output_paths_for([str(flc)], "updatenpol", output=str(tmp_path / "no" / "u.fits")),
            "the output folder")
    assert not (tmp_path / "no").exists()
    assert flc.read_bytes() == before


def test_outdir_itself_is_made_but_not_its_parents(tmp_path, flc, capsys):
    records = pixreplace.replace(str(flc), outdir=str(tmp_path / "out"))
    assert records[0]["output"] == str(tmp_path / "out" / "sample_svm_flc.fits")
    assert (tmp_path / "out" / "sample_svm_flc.fits").is_file()
    (tmp_path / "plain").write_text("a file, not a folder")
    _raises(lambda: pixreplace.replace(str(flc), outdir=str(tmp_path / "plain")),
            "exists and is not a folder")


def test_mapreg_outpath_parent_must_exist(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("sky.reg").write_text("fk5\ncircle(150.1,2.2,1\")\n")
    _raises(lambda: mapreg.map_region_files("sky.reg", str(CHIP), outpath="no/regions"),
            "cannot create the output folder", f"parent {tmp_path / 'no'} does not exist")
    assert not Path("no").exists()

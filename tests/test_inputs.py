"""AstroDrizzle's ways of naming inputs: glob, comma list, @file (with IVM column), _asn.fits."""
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from snakedrizzle.errors import InputError
from snakedrizzle.io.inputs import resolve_inputs


@pytest.fixture
def folder(tmp_path):
    for root in ("ja1b02abq", "ja1b02acq", "ja1b02adq"):
        fits.PrimaryHDU().writeto(tmp_path / f"{root}_flt.fits")
    return tmp_path


def test_glob_is_sorted_and_comma_list_keeps_order(folder):
    paths, _ = resolve_inputs(f"{folder}/*_flt.fits")
    assert [p.split("/")[-1][:9] for p in paths] == ["ja1b02abq", "ja1b02acq", "ja1b02adq"]
    paths, _ = resolve_inputs(f"{folder}/ja1b02adq_flt.fits,{folder}/ja1b02abq_flt.fits")
    assert [p.split("/")[-1][:9] for p in paths] == ["ja1b02adq", "ja1b02abq"]


def test_at_file_with_ivm_column(folder):
    (folder / "list.txt").write_text("# inputs\nja1b02abq_flt.fits ivm1.fits\nja1b02acq_flt.fits\n")
    paths, ivm = resolve_inputs(f"@{folder}/list.txt")
    assert len(paths) == 2 and ivm == {str(folder / "ja1b02abq_flt.fits"): str(folder / "ivm1.fits")}


def test_association_members(folder):
    table = Table({"MEMNAME": ["JA1B02ABQ", "JA1B02ADQ", "JA1B02010"],
                   "MEMTYPE": ["EXP-DTH", "EXP-DTH", "PROD-DTH"],
                   "MEMPRSNT": np.array([True, True, True])})
    fits.HDUList([fits.PrimaryHDU(), fits.table_to_hdu(table)]).writeto(folder / "ja1b02010_asn.fits")
    paths, _ = resolve_inputs(f"{folder}/ja1b02010_asn.fits")
    assert [p.split("/")[-1] for p in paths] == ["ja1b02abq_flt.fits", "ja1b02adq_flt.fits"]


def test_pattern_matching_nothing(folder):
    with pytest.raises(InputError, match="matches no file"):
        resolve_inputs(f"{folder}/*_flc.fits")


def test_tool_file_lists_share_the_expander(folder, monkeypatch):
    from snakedrizzle.io.inputs import expand_inputs

    monkeypatch.chdir(folder)
    (folder / "tools.lst").write_text("ja1b02adq_flt.fits  # one\n*_flt.fits\n")
    paths, _ = expand_inputs(["ja1b02acq_flt.fits", "@tools.lst"])
    assert paths == ["ja1b02acq_flt.fits", "ja1b02adq_flt.fits", "ja1b02abq_flt.fits",
                     "ja1b02acq_flt.fits", "ja1b02adq_flt.fits"]
    with pytest.raises(InputError, match="missing.fits: no such file"):
        expand_inputs("ja1b02abq_flt.fits,missing.fits")
    # the workflow's input is checked as the tools' is: a missing exposure is named up front
    with pytest.raises(InputError, match="missing_flt.fits: no such file"):
        resolve_inputs("ja1b02abq_flt.fits,missing_flt.fits")


def test_cli_errors_are_one_line(capsys):
    from snakedrizzle.io.cli import run_cli

    def fail():
        raise InputError("x.fits", "no such file")

    assert run_cli("tool", fail) == 1
    assert capsys.readouterr().err == "tool: error: x.fits: no such file\n"
    assert run_cli("tool", lambda: open("/nonexistent/dir/f")) == 1
    assert capsys.readouterr().err.startswith("tool: error: /nonexistent/dir/f: ")
    assert run_cli("tool", lambda: None) == 0

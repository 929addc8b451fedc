"""The configuration boundary (snakedrizzle.workflow.config): defaults written once, in the
schema; multi-value parameters typed once; every bad value stopped before any job with one short
line naming the parameter, the value and what is allowed."""
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from conftest import REPO, snakemake
from snakedrizzle.errors import InputError
from snakedrizzle.workflow import config as sdconfig
from snakedrizzle.workflow import params as sdparams

# (configuration, text the one-line message must contain: the parameter and value, then what is
# allowed). The cases first, then their neighbours.
BAD = [
    ({"final_wcs": True, "final_scale": 0}, "final_scale=0: must be > 0"),
    ({"final_wcs": True, "final_scale": -0.05}, "final_scale=-0.05: must be > 0"),
    ({"driz_sep_wcs": True, "driz_sep_scale": 0.0}, "driz_sep_scale=0.0: must be > 0"),
    ({"final_outnx": -5}, "final_outnx=-5: must be >= 1"),
    ({"final_outny": 0}, "final_outny=0: must be >= 1"),
    ({"driz_sep_outnx": -1}, "driz_sep_outnx=-1: must be >= 1"),
    ({"final_outnx": 100.5}, "final_outnx=100.5: must be an integer or null"),
    ({"final_pixfrac": 0}, "final_pixfrac=0: must be > 0"),
    ({"final_pixfrac": -0.5}, "final_pixfrac=-0.5: must be > 0"),
    ({"final_pixfrac": 10}, "final_pixfrac=10: must be <= 1"),
    ({"driz_sep_pixfrac": 0.0}, "driz_sep_pixfrac=0.0: must be > 0"),
    ({"final_pixfrac": "abc"}, "final_pixfrac='abc': must be a number"),
    ({"final_wht_type": "INV"}, "final_wht_type='INV': must be one of EXP, ERR, IVM"),
    ({"final_wht_type": "exp"}, "final_wht_type='exp': must be one of EXP, ERR, IVM"),
    ({"skymethod": "median"}, "skymethod='median': must be one of localmin, globalmin, match"),
    ({"skystat": "average"}, "skystat='average': must be one of median, mode, mean"),
    ({"combine_type": "avg"}, "combine_type='avg': must be one of median, mean, minmed"),
    ({"final_kernel": "boxcar"}, "final_kernel='boxcar': must be one of square, point"),
    ({"driz_sep_kernel": "tophat"}, "driz_sep_kernel='tophat': must be one of square"),
    ({"blot_interp": "cubic"}, "blot_interp='cubic': must be one of nearest, linear"),
    ({"final_units": "electrons"}, "final_units='electrons': must be one of cps, counts"),
    ({"driz_cr": "maybe"}, "driz_cr='maybe': must be true or false"),
    ({"final_wcs": 2}, "final_wcs=2: must be true or false"),
    ({"driz_cr_snr": "abc"}, "driz_cr_snr='abc': must be two numbers > 0"),
    ({"driz_cr_snr": "3.5"}, "driz_cr_snr='3.5': must be two numbers > 0"),
    ({"driz_cr_snr": "3.5 3.0 2.5"}, "driz_cr_snr='3.5 3.0 2.5': must be two numbers > 0"),
    ({"driz_cr_snr": "3.5 -3"}, "driz_cr_snr='3.5 -3': must be two numbers > 0"),
    ({"driz_cr_snr": "nan 3"}, "driz_cr_snr='nan 3': must be two numbers > 0"),
    ({"driz_cr_scale": "-1 0.7"}, "driz_cr_scale='-1 0.7': must be two numbers >= 0"),
    ({"combine_nsigma": 4}, "combine_nsigma=4: must be two numbers > 0"),
    ({"combine_nsigma": [4, "x"]}, "combine_nsigma=[4, \"x\"]: must be two numbers > 0"),
    ({"final_bits": "abc"}, "final_bits='abc': must be a DQ bit expression"),
    ({"resetbits": "~x"}, "resetbits='~x': must be a DQ bit expression"),
    ({"crbit": -1}, "crbit=-1: must be >= 0"),
    ({"crbit": 1000000}, "crbit=1000000: must be <= 65535"),
    ({"crbit": "many"}, "crbit='many': must be an integer or null"),
    ({"stepsize": 0}, "stepsize=0: must be >= 1"),
    ({"num_cores": 0}, "num_cores=0: must be >= 1"),
    ({"static_sig": 0}, "static_sig=0: must be > 0"),
    ({"skywidth": -0.1}, "skywidth=-0.1: must be > 0"),
    ({"combine_maskpt": 30}, "combine_maskpt=30: must be <= 1"),
    ({"combine_nlow": -1}, "combine_nlow=-1: must be >= 0"),
    ({"combine_grow": 1.5}, "combine_grow=1.5: must be an integer"),
    ({"final_dec": 95.0}, "final_dec=95.0: must be <= 90"),
    ({"final_ra": -10.0}, "final_ra=-10.0: must be >= 0"),
    ({"final_ra": 400.0}, "final_ra=400.0: must be < 360"),
    ({"gain": 0}, "gain=0: must be > 0"),
    ({"exptime": -1.0}, "exptime=-1.0: must be > 0"),
    ({"final_wt_scl": "foo"}, "final_wt_scl='foo': must be 'exptime', 'expsq' or a number"),
    ({"searchrad": 0}, "searchrad=0: must be > 0"),
    ({"fitgeometry": "affine"}, "fitgeometry='affine': must be one of shift, rscale, general"),
    ({"final_pixfrak": 0.5}, "unknown parameter 'final_pixfrak' (did you mean final_pixfrac?)"),
    ({"foo": 1}, "unknown parameter 'foo'"),
    ({"output": "a/b"}, "output='a/b': must be a name without '/' or spaces"),
    ({"products": "x.fits"}, "products='x.fits': must be a list of {input"),
    ({"products": [{"input": "a*.fits", "output": "a", "final_pixfrac": 2}]},
     "products[0] (output=a): final_pixfrac=2: must be <= 1"),
    ({"products": [{"input": "a*.fits", "output": "a"}, {"input": "b*.fits", "output": "b", "pixfrac": 0.5}]},
     "products[1] (output=b): unknown parameter 'pixfrac'"),
    ({"products": [{"input": "a*.fits", "output": "a", "final_wht_type": "ivm"}]},
     "products[0] (output=a): final_wht_type='ivm': must be one of EXP, ERR, IVM"),
    ({"products": [{"input": "a*.fits", "output": "a", "driz_cr_snr": "3.5"}]},
     "products[0] (output=a): driz_cr_snr='3.5': must be two numbers > 0"),
    ({"products": [{"input": "a*.fits"}]}, "products[0]: 'output' is missing"),
    ({"products": [{"input": "a*.fits", "output": "a/b"}]}, "output='a/b': must be a name without"),
    ({"products": [{"input": "", "output": "a"}]}, "products[0] (output=a): input='': must not be empty"),
]


def _one_line_error(settings):
    with pytest.raises(InputError) as info:
        sdconfig.check_config(settings)
    message = str(info.value)
    assert "\n" not in message and len(message) < 200, message
    return message


@pytest.mark.parametrize("settings, expected", BAD, ids=[text.split(":")[0] for _, text in BAD])
def test_bad_value_is_one_short_line_naming_it(settings, expected):
    message = _one_line_error(settings)
    assert message.startswith("config: ") and expected in message, message


def test_the_corpus_covers_many_parameters():
    named = {re.match(r"(?:products\[\d\] \(output=\w+\): )?(?:unknown parameter ')?(\w+)", text).group(1)
             for _, text in BAD}
    assert len(BAD) >= 40 and len(named) >= 35


def test_python_api_uses_the_same_check():
    from snakedrizzle.astrodrizzle import AstroDrizzle

    with pytest.raises(InputError, match=r"^AstroDrizzle: final_outnx=-5: must be >= 1$"):
        AstroDrizzle("nothing*.fits", final_outnx=-5)
    with pytest.raises(InputError, match="unknown parameter 'products'"):
        sdconfig.check_params({"products": []})


# --- spellings and types --------------------------------------------------------------------

@pytest.mark.parametrize("spelling", ["3.5 3.0", " 3.5, 3.0 ", "3.5,3", [3.5, 3.0], (3.5, 3), ["3.5", "3.0"]])
def test_multi_value_spellings_become_one_list_of_floats(spelling):
    checked = sdconfig.check_config({"driz_cr_snr": spelling})
    assert checked["driz_cr_snr"] == [3.5, 3.0]
    assert all(type(v) is float for v in checked["driz_cr_snr"])
    assert sdconfig.check_params({"driz_cr_snr": spelling}) == {"driz_cr_snr": [3.5, 3.0]}


def test_every_multi_value_parameter_is_a_list_of_floats_by_default():
    assert set(sdconfig.MULTI_VALUE) == {"driz_cr_snr", "driz_cr_scale", "combine_nsigma"}
    checked = sdconfig.check_config({})
    for name in sdconfig.MULTI_VALUE:
        assert len(checked[name]) == 2 and all(type(v) is float for v in checked[name]), name
    # DQ bit expressions are DrizzlePac's own language: they stay as written.
    assert sdconfig.check_config({"final_bits": "64,32"})["final_bits"] == "64,32"


def test_command_line_words_and_product_overrides_are_typed():
    checked = sdconfig.check_config({
        "final_fillval": "INDEF", "driz_cr": "false", "align": "yes",
        "products": [{"input": "a*.fits", "output": "a", "combine_nsigma": "5 4", "skylower": "None"}]})
    assert checked["final_fillval"] is None and checked["driz_cr"] is False and checked["align"] is True
    assert checked["products"] == [{"input": "a*.fits", "output": "a", "combine_nsigma": [5.0, 4.0],
                                    "skylower": None}]


def test_stages_receive_the_typed_values():
    checked = sdconfig.check_config({"driz_cr_snr": "4 3.5"})
    params = {k: checked[k] for k in sdparams.DEFAULTS}
    assert sdparams.stage_params("driz_cr", params)["driz_cr_snr"] == [4.0, 3.5]
    assert sdparams.stage_params("median", params)["combine_nsigma"] == [4.0, 3.0]


# --- defaults in one place ------------------------------------------------------------------

def test_every_schema_property_has_an_allowed_default():
    for name, prop in sdconfig.PROPERTIES.items():
        assert "default" in prop, name
        jsonschema.Draft202012Validator(prop).validate(prop["default"])


def test_the_workflow_uses_the_schema_defaults():
    schema = json.loads((REPO / "config.schema.json").read_text())["properties"]
    expected = {k: p["default"] for k, p in schema.items() if k not in sdconfig.RUN_KEYS}
    assert sdparams.DEFAULTS == expected
    # the ALIGN tables are views of the same defaults
    assert all(sdparams.DEFAULTS[k] == v for k, v in sdparams.ALIGN_DEFAULTS.items())
    # what a run gets for a parameter it does not set: the schema's default, for every stage
    completed = sdconfig.check_config({})
    assert {k: completed[k] for k in expected} == expected
    for stage, names in sdparams.STAGES.items():
        assert sdparams.stage_params(stage, {}) == {k: expected[k] for k in names}, stage


def test_config_yaml_writes_no_default_a_second_time():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    assert set(config) == set(sdconfig.RUN_KEYS)
    assert config == {k: sdconfig.PROPERTIES[k]["default"] for k in sdconfig.RUN_KEYS}


def test_the_generated_full_config_is_the_defaults():
    full = yaml.safe_load(sdconfig.defaults_yaml())
    assert sdconfig.check_config(full) == sdconfig.check_config({})
    assert {k: full[k] for k in sdparams.DEFAULTS} == sdparams.DEFAULTS


def _drizzlepac_cfg(name):
    """key -> value text of a DrizzlePac .cfg parameter file."""
    drizzlepac = pytest.importorskip("drizzlepac")
    text = (Path(drizzlepac.__file__).parent / "pars" / name).read_text()
    return dict(re.findall(r"^([a-z]\w*)[ \t]*=[ \t]*(.*?)[ \t]*$", text, re.M))


def _typed(text):
    if not text or text.startswith('"'):
        return text.strip('"')
    if text in ("None", "True", "False"):
        return {"None": None, "True": True, "False": False}[text]
    words = text.split()
    try:
        numbers = [int(w) if re.fullmatch(r"-?\d+", w) else float(w) for w in words]
    except ValueError:
        return text
    return numbers[0] if len(numbers) == 1 else [float(v) for v in numbers]


# Where snakedrizzle's default differs from DrizzlePac 3.11's, on purpose.
DEVIATIONS = {
    "build": True,  # one multi-extension product, as the README promises
    "gain": None, "rdnoise": None, "exptime": None,  # DrizzlePac's "" (read from the header)
    "fluxcol": None, "rfluxcol": None,  # "" (no flux column)
    "refxcol": None, "refycol": None,  # 1/2 -> find the RA/Dec columns by name
}


@pytest.mark.parametrize("cfg, prefix", [("astrodrizzle.cfg", ""), ("tweakreg.cfg", ""),
                                         ("imagefindpars.cfg", ""), ("refimagefindpars.cfg", "ref_")])
def test_defaults_are_drizzlepacs(cfg, prefix):
    theirs = {prefix + k: _typed(v) for k, v in _drizzlepac_cfg(cfg).items()}
    shared = [k for k in theirs if k in sdparams.DEFAULTS]
    assert len(shared) >= 10
    for key in shared:
        assert sdparams.DEFAULTS[key] == DEVIATIONS.get(key, theirs[key]), key


# --- through Snakemake: nothing runs, nothing is written --------------------------------------

def _assert_stopped_before_any_job(work, proc, expected):
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"config: {expected}" in out
    assert len(out.strip().splitlines()) <= 6, out  # the message, no schema or config dump
    assert "$schema" not in out and "rule " not in out and "Job " not in out
    assert not (work / "results").exists() and not (work / "logs").exists()


@pytest.mark.parametrize("args, config, expected", [
    (["--dry-run"], {"final_wcs": "true", "final_scale": 0}, "final_scale=0: must be > 0"),
    (["--dry-run"], {"final_pixfrak": 0.5}, "unknown parameter 'final_pixfrak'"),
    (["--cores", "1"], {"final_outnx": -5}, "final_outnx=-5: must be >= 1"),
    (["--cores", "1"], {"final_wht_type": "INV"}, "final_wht_type='INV': must be one of EXP, ERR, IVM"),
    (["--cores", "1"], {"driz_cr_snr": 3.5}, "driz_cr_snr=3.5: must be two numbers"),
])
def test_snakemake_stops_before_any_job(tmp_path, args, config, expected):
    work = tmp_path / "work"
    proc = snakemake(work, *args, config=config, check=False)
    _assert_stopped_before_any_job(work, proc, expected)


def test_a_product_override_stops_snakemake_before_any_job(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    configfile = work / "products.yaml"
    configfile.write_text(yaml.safe_dump({"products": [
        {"input": "a/*_flt.fits", "output": "a"},
        {"input": "b/*_flt.fits", "output": "b", "final_pixfrac": 0}]}))
    proc = snakemake(work, "--cores", "1", "--configfile", str(configfile), check=False)
    _assert_stopped_before_any_job(work, proc, "products[1] (output=b): final_pixfrac=0: must be > 0")

"""updatenpol: point HST images at their NPOLFILE and D2IMFILE and apply the distortion
(DrizzlePac's ``updatenpol.update``).

For each file with a valid DGEOFILE, the ``*_npl.fits`` in ``refdir`` matching DETECTOR and
FILTER1/FILTER2 (or FILTER1 = 'ANY') becomes NPOLFILE, the ``*_d2i.fits`` matching DETECTOR
becomes D2IMFILE, and stwcs ``updatewcs`` then rebuilds the WCS with SIP + NPOL + D2IM.

Differences from DrizzlePac, on purpose:

* a new file is written unless ``inplace=True``; ``dryrun=True`` only reports the choice;
* among several matching reference files DrizzlePac keeps the last one in directory-listing
  order (which depends on the file system); we take the newest one in use at the observation
  date (latest USEAFTER not after DATE-OBS, then latest DATE), which is deterministic;
* ``updatewcs`` runs with ``use_db=False`` by default, so no a-posteriori WCS is fetched from
  the MAST astrometry database (DrizzlePac fetches it when the network allows): the result
  depends on the reference files only. Pass ``use_db=True`` for DrizzlePac's behaviour.
"""
import argparse
import builtins
import datetime
import glob
import os
import re
import shutil
import sys

from astropy.io import fits

from snakedrizzle.errors import InputError
from snakedrizzle.io.cli import run_cli
from snakedrizzle.io.extspec import add_output_options, output_paths_for, staged_copy
from snakedrizzle.io.inputs import expand_inputs

__all__ = ["update", "resolve_refdir", "find_npolfile", "find_d2ifile", "main"]

_NONE = ("N/A", "", " ", None)


def update(input="*flt.fits", refdir="jref$", local=None, interactive=False, wcsupdate=True, *,
           inplace=False, output=None, outdir=None, clobber=False, dryrun=False, use_db=False):
    """Set NPOLFILE/D2IMFILE from ``refdir`` ('jref$' through the environment, or a path) and,
    with ``wcsupdate``, apply them with stwcs ``updatewcs``.

    ``local`` copies the chosen reference files next to the output file and points the header at
    the copies. ``interactive`` asks for the file names instead of searching ``refdir``.
    Returns one ``{'input', 'output', 'NPOLFILE', 'D2IMFILE'}`` record per file.
    """
    paths, _ = expand_inputs(input)
    rdir = None if interactive else resolve_refdir(refdir)
    catalog = None if interactive else _catalog(rdir)
    targets = {} if dryrun else output_paths_for(paths, "updatenpol", inplace=inplace,
                                                 output=output, outdir=outdir, clobber=clobber)
    records = []
    for path in paths:
        target = targets.get(path)
        header = fits.getheader(path)
        npol, d2i = _choose(path, header, catalog, rdir, interactive)
        folder = os.path.dirname(target if target else path)
        values = {kw: _keyword_value(ref, refdir, local, folder) for kw, ref in
                  (("NPOLFILE", npol), ("D2IMFILE", d2i))}
        record = {"input": path, "output": target, **values}
        records.append(record)
        _report(record, header, dryrun)
        if dryrun:
            continue
        with staged_copy(path, target) as tmp:
            with fits.open(tmp, mode="update") as hdul:
                _set_keywords(hdul[0].header, values)
            if local:
                _copy_local(((npol, values["NPOLFILE"]), (d2i, values["D2IMFILE"])))
            if wcsupdate:
                _updatewcs(tmp, path, use_db)
    return records


def resolve_refdir(refdir):
    """'jref$' (or 'jref$sub/') through the environment variable ``jref``; else a path."""
    refdir = os.fspath(refdir)
    match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\$(.*)$", refdir)
    if match:
        name, rest = match.groups()
        if name not in os.environ:
            raise InputError(refdir, f"the environment variable '{name}' is not set; set it to "
                             "the reference-file directory or give a path")
        refdir = os.path.join(os.environ[name], rest)
    if not os.path.isdir(refdir):
        raise InputError(refdir, "reference directory not found")
    return refdir


# --------------------------------------------------------------------------------------------
# Choosing the reference files


def _catalog(rdir):
    """Headers of the candidate reference files, read once for all inputs."""
    entries = {"npl": [], "d2i": []}
    for kind in entries:
        for name in sorted(glob.glob(os.path.join(rdir, f"*{kind}.fits"))):
            h = fits.getheader(name)
            entries[kind].append({
                "path": name, "detector": str(h.get("DETECTOR", "")).strip(),
                "filter1": str(h.get("FILTER1", "")).strip(),
                "filter2": str(h.get("FILTER2", "")).strip(),
                "useafter": _parse_date(h.get("USEAFTER")), "date": _parse_date(h.get("DATE"))})
    return entries


def find_npolfile(catalog, detector, filters, obsdate=None):
    """The NPOLFILE entry for a detector and (FILTER1, FILTER2); FILTER1 'ANY' matches all."""
    matches = [e for e in catalog["npl"] if e["detector"] == detector and
               (e["filter1"] == "ANY" or (e["filter1"], e["filter2"]) == tuple(filters))]
    return _newest(matches, obsdate)


def find_d2ifile(catalog, detector, obsdate=None):
    return _newest([e for e in catalog["d2i"] if e["detector"] == detector], obsdate)


def _newest(entries, obsdate):
    """The file in use at ``obsdate``: latest USEAFTER not after it, then latest DATE."""
    if obsdate is not None:
        usable = [e for e in entries if e["useafter"] is None or e["useafter"] <= obsdate]
        entries = usable or entries
    if not entries:
        return None
    oldest = datetime.datetime.min
    return max(entries, key=lambda e: (e["useafter"] or oldest, e["date"] or oldest))["path"]


_DATE_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d", "%b %d %Y %H:%M:%S",
                 "%b %d %Y", "%a %b %d %H:%M:%S %Y", "%d/%m/%y", "%d/%m/%Y")


def _parse_date(value):
    """Reference files write dates in several styles ('Mar 01 2002 00:00:00', ISO, ctime)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = " ".join(value.split())
    for fmt in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _choose(path, header, catalog, rdir, interactive):
    if "DETECTOR" not in header:
        raise InputError(path, "no DETECTOR keyword in the primary header")
    detector = str(header["DETECTOR"]).strip()
    obsdate = _parse_date(f"{header.get('DATE-OBS', '')}T{header.get('TIME-OBS', '00:00:00')}")
    npol = None
    if header.get("DGEOFILE", "") not in _NONE:
        filters = (str(header.get("FILTER1", "")).strip(), str(header.get("FILTER2", "")).strip())
        npol = (_ask(f"Enter name of NPOLFILE for {path}: ") if interactive
                else find_npolfile(catalog, detector, filters, obsdate))
        if npol is None:
            raise InputError(path, f"no NPOLFILE in {rdir} for DETECTOR={detector}, "
                             f"FILTER1={filters[0]}, FILTER2={filters[1]}")
    d2i = (_ask(f"Enter name of D2IMFILE for {path}: ") if interactive
           else find_d2ifile(catalog, detector, obsdate))
    if d2i is None:
        print(f"WARNING: no D2IMFILE in {rdir} for DETECTOR={detector}: "
              "no D2IM correction will be applied")
    return npol, d2i


def _ask(prompt):
    answer = builtins.input(prompt).strip()
    if answer and not os.path.isfile(answer):
        raise InputError(answer, "reference file not found")
    return answer or None


def _keyword_value(ref, refdir, local, folder):
    """The header value: '' when none, a local copy's path, 'jref$name', or refdir/name."""
    if not ref:
        return ""
    name = os.path.basename(ref)
    if local:
        return os.path.join(folder, name)
    return refdir + name if "$" in refdir else os.path.join(refdir, name)


# --------------------------------------------------------------------------------------------
# Writing


def _set_keywords(header, values):
    # both after DGEOFILE, as DrizzlePac places them
    after = "DGEOFILE" if "DGEOFILE" in header else None
    header.set("NPOLFILE", values["NPOLFILE"], "Non-polynomial corrections in Paper IV LUT",
               after=after)
    header.set("D2IMFILE", values["D2IMFILE"], "Column correction table", after=after)


def _copy_local(pairs):
    for src, dst in pairs:
        if src and dst and os.path.abspath(src) != os.path.abspath(dst):
            shutil.copyfile(src, dst)


def _updatewcs(tmp, path, use_db):
    from stwcs import updatewcs

    try:
        updatewcs.updatewcs(tmp, use_db=use_db)
    except Exception as exc:  # stwcs raises a variety of types for missing reference files
        raise InputError(path, f"stwcs updatewcs failed ({type(exc).__name__}: {exc})") from None


def _report(record, header, dryrun):
    verb = "would set" if dryrun else "set"
    for kw in ("NPOLFILE", "D2IMFILE"):
        print(f"{record['input']}: {verb} {kw} = '{record[kw]}' (was '{header.get(kw, '')}')")
    if not dryrun:
        print(f"{record['input']}: written to {record['output']}")


def _parser():
    p = argparse.ArgumentParser(
        prog="updatenpol", description="Set NPOLFILE and D2IMFILE from a reference directory "
        "and apply the distortion with stwcs (DrizzlePac's updatenpol). Writes "
        "<name>_updatenpol.fits (or --outdir/--output) unless --in-place.")
    p.add_argument("input", nargs="+", help="files, wildcards or @list files")
    p.add_argument("--refdir", default="jref$", help="reference directory: 'jref$' (via the "
                   "environment variable) or a path (default jref$)")
    p.add_argument("-l", "--local", action="store_true", help="copy the reference files next "
                   "to the output")
    p.add_argument("-i", "--interactive", action="store_true", help="ask for the file names")
    p.add_argument("--no-wcsupdate", dest="wcsupdate", action="store_false",
                   help="only set the keywords; do not run updatewcs")
    p.add_argument("--use-db", dest="use_db", action="store_true",
                   help="let updatewcs fetch a-posteriori WCS solutions from MAST")
    add_output_options(p)
    return p


def main(argv=None):
    args = _parser().parse_args(argv)
    return run_cli("updatenpol", lambda: update(
        args.input, args.refdir, local=args.local, interactive=args.interactive,
        wcsupdate=args.wcsupdate, inplace=args.inplace, output=args.output, outdir=args.outdir,
        clobber=args.clobber, dryrun=args.dryrun, use_db=args.use_db))


if __name__ == "__main__":
    sys.exit(main())

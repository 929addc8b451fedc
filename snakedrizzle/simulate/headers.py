"""Header blocks of a simulated FLT/FLC file: the primary header, the SCI/ERR/DQ extension headers
and HST-like rootnames.

What AstroDrizzle 3.11.0 needs (found by deleting one keyword at a time and re-running it):
it stops without PRIMARY TELESCOP, INSTRUME, DETECTOR, EXPEND, ATODGN[A-D], READNSE[A-D]
(CCDAMP too for ACS/HRC) or SCI MEANDARK, NGOODPIX, EXPNAME; it silently drops files without
EXPTIME; it only warns without PA_V3 or IDCSCALE (then the scale comes from sqrt|det CD|); BUNIT
decides counts vs. rate (so it must say ELECTRONS/S for WFC3/IR). The rest (FILTER*, OBSTYPE,
EXPSTART, ROOTNAME, LTV1/2, ORIENTAT, WCSNAME 'IDC_simulated', VAFACTOR, PHOT*) is written because
real FLTs have it and the pipeline or header blending reads it. IDCV2REF/IDCV3REF/IDCTHETA are
deliberately left out: with them stwcs takes the output orientation from PA_V3 through the V2/V3
roll computation rather than from the CD matrix, which cannot be made consistent without an IDCTAB.
"""
from __future__ import annotations

import numpy as np
from astropy.io import fits
from astropy.time import Time

from snakedrizzle.errors import InputError

MJD0 = 56000.0                 # start of the first exposure


def rootnames(prefix, n):
    """HST-like 9-character rootnames: prefix + visit digits to 6 chars, 2-char obs id, 'q'."""
    if len(prefix) > 6:
        raise InputError("rootname_prefix", f"{prefix!r} is longer than 6 characters")
    head = (prefix.lower() + "01").ljust(6, "0")[:6]
    letters = "abcdefghijklmnopqrstuvwxyz"
    if n > len(letters) * 9:
        raise InputError("n_exposures", f"too many exposures for HST-like rootnames: {n}")
    return [f"{head}{letters[i // 9]}{i % 9 + 1}q" for i in range(n)]


def primary_header(inst, root, suffix, i, exptime, orientat, postarg, ra, dec,
                   gain, readnoise, nchips, subarray):
    """Primary header of exposure `i` (0-based): exposures follow each other with 120 s gaps
    from MJD0; `postarg` is the dither in arcsec."""
    start = MJD0 + i * (exptime + 120.0) / 86400.0
    t0 = Time(start, format="mjd")
    h = fits.Header()
    h["NEXTEND"] = (3 * nchips, "Number of standard extensions")
    h["FILENAME"] = (f"{root}_{suffix}.fits", "name of file")
    h["FILETYPE"] = ("SCI", "type of data found in data file")
    h["TELESCOP"] = ("HST", "telescope used to acquire data")
    h["INSTRUME"] = (inst.instrume, "identifier for instrument used to acquire data")
    h["EQUINOX"] = (2000.0, "equinox of celestial coord. system")
    h["ROOTNAME"] = (root, "rootname of the observation set")
    h["IMAGETYP"] = ("EXT", "type of exposure identifier")
    h["PRIMESI"] = (inst.instrume, "instrument designated as prime")
    h["TARGNAME"] = ("SIMULATED", "proposer's target name")
    h["RA_TARG"] = (float(ra), "right ascension of the target (deg) (J2000)")
    h["DEC_TARG"] = (float(dec), "declination of the target (deg) (J2000)")
    h["PROPOSID"] = (99999, "PEP proposal identifier")
    h["REFFRAME"] = ("ICRS", "guide star catalog version")
    h["DATE-OBS"] = (t0.isot[:10], "UT date of start of observation (yyyy-mm-dd)")
    h["TIME-OBS"] = (t0.isot[11:19], "UT time of start of observation (hh:mm:ss)")
    h["EXPSTART"] = (start, "exposure start time (Modified Julian Date)")
    h["EXPEND"] = (start + exptime / 86400.0, "exposure end time (Modified Julian Date)")
    h["EXPTIME"] = (float(exptime), "exposure duration (seconds)--calculated")
    h["EXPFLAG"] = ("NORMAL", "Exposure interruption indicator")
    h["DARKTIME"] = (float(exptime), "fiducial pixel dark time (secs)")
    h["PA_V3"] = ((orientat + inst.pav3_minus_orientat) % 360.0, "position angle of V3-axis of HST (deg)")
    h["POSTARG1"] = (float(postarg[0]), "POSTARG in axis 1 direction")
    h["POSTARG2"] = (float(postarg[1]), "POSTARG in axis 2 direction")
    h["OBSTYPE"] = ("IMAGING", "observation type - imaging or spectroscopic")
    h["OBSMODE"] = ("ACCUM" if inst.counts else "MULTIACCUM", "operating mode")
    h["SUBARRAY"] = (bool(subarray), "data from a subarray (T) or full frame (F)")
    h["DETECTOR"] = (inst.detector, "detector in use")
    for k, v in inst.filters.items():
        h[k] = (v, "element selected from filter wheel")
    h["APERTURE"] = (inst.aperture, "aperture name")
    h["CCDAMP"] = (inst.amps, "CCD Amplifier Readout Configuration")
    h["CCDGAIN"] = (float(gain), "commanded gain of CCD")
    for amp in "ABCD":
        used = amp in inst.amps
        h[f"ATODGN{amp}"] = (float(gain) if used else 0.0, f"calibrated gain for amplifier {amp}")
        h[f"READNSE{amp}"] = (float(readnoise) if used else 0.0, f"calibrated read noise for amplifier {amp}")
    if not inst.counts:
        h["NSAMP"] = (16, "number of MULTIACCUM samples")
        h["SAMP_SEQ"] = ("SPARS25", "MULTIACCUM exposure time sequence name")
        h["SAMPTIME"] = (float(exptime), "total integration time (sec)")
    for k in ("DQICORR", "BLEVCORR", "BIASCORR", "DARKCORR", "FLATCORR", "PHOTCORR"):
        h[k] = "COMPLETE"
    h["DRIZCORR"] = ("PERFORM", "drizzle processing")
    for k in ("IDCTAB", "NPOLFILE", "D2IMFILE", "DGEOFILE", "MDRIZTAB", "PFLTFILE", "DARKFILE"):
        h[k] = ("N/A", "reference file (none: simulated data)")
    h["SIMULATE"] = (True, "synthetic data from snakedrizzle.simulate")
    return h


def ext_header(extname, extver, root, bunit, wcs_hdr):
    """The cards every extension of a chip has: its identity, units, WCS and full-frame LTV/LTM."""
    h = fits.Header()
    h["INHERIT"] = (True, "inherit the primary header")
    h["EXTNAME"] = (extname, "extension name")
    h["EXTVER"] = (extver, "extension version number")
    h["ROOTNAME"] = (root, "rootname of the observation set")
    h["EXPNAME"] = (root, "exposure identifier")
    h["BUNIT"] = (bunit, "brightness units")
    h.update(wcs_hdr)
    h["LTV1"] = (0.0, "offset in X to subsection start")
    h["LTV2"] = (0.0, "offset in Y to subsection start")
    h["LTM1_1"] = (1.0, "reciprocal of sampling rate in X")
    h["LTM2_2"] = (1.0, "reciprocal of sampling rate in Y")
    return h



def chip_headers(inst, extver, root, wcs_hdr, *, aperture_ref, orientat, dq, dark_e):
    """(SCI, ERR, DQ) headers of chip `extver`; SCI carries the calibration and photometry
    keywords, all three the chip's WCS."""
    bunit = "ELECTRONS" if inst.counts else "ELECTRONS/S"
    sci = ext_header("SCI", extver, root, bunit, wcs_hdr)
    sci["CCDCHIP"] = (inst.ccdchip[extver - 1], "CCD chip (1 or 2)")
    sci["IDCSCALE"] = (inst.scale, "pixel scale from the IDCTAB reference file")
    sci["VAFACTOR"] = (1.0, "velocity aberration plate scale factor")
    sci["RA_APER"] = (float(aperture_ref[0]), "RA of aperture reference position")
    sci["DEC_APER"] = (float(aperture_ref[1]), "Declination of aperture reference position")
    sci["PA_APER"] = (float(orientat), "Position Angle of reference aperture center")
    for k, v in inst.phot.items():
        sci[k] = v
    sci["NGOODPIX"] = (int(np.count_nonzero(dq == 0)), "number of good pixels")
    sci["SDQFLAGS"] = (31743, "serious data quality flags")
    sci["MEANDARK"] = (float(dark_e), "average of the dark values subtracted")
    sci["MEANBLEV"] = (0.0, "average of all bias levels subtracted")
    err = ext_header("ERR", extver, root, bunit, wcs_hdr)
    dq_hdr = ext_header("DQ", extver, root, "UNITLESS", wcs_hdr)
    return sci, err, dq_hdr


def cr_truth_headers(extver):
    """Headers of the CR (uint8 mask) and CRE (float32 electrons) truth extensions of a chip."""
    return (fits.Header([("EXTNAME", "CR"), ("EXTVER", extver), ("BUNIT", "UNITLESS")]),
            fits.Header([("EXTNAME", "CRE"), ("EXTVER", extver), ("BUNIT", "ELECTRONS")]))

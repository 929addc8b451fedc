"""The HST detectors the simulator knows: chip size and order, pixel scale, noise, photometry,
header constants and a real SIP distortion pattern per chip."""
from __future__ import annotations

from dataclasses import dataclass, replace

from snakedrizzle.errors import InputError


def _sip(pairs):
    """{(p, q): (A_p_q, B_p_q)} from a compact dict; orders 2..4 only (no constant/linear terms)."""
    return {k: (float(a), float(b)) for k, (a, b) in pairs.items()}


# SIP coefficients (order 4) copied from genuine pipeline headers of each detector: the shape of
# the distortion is real; its amplitude is rescaled (see _scaled_sip).
_SIP_WFC_CHIP2 = _sip({  # jbt122x8q_flc [SCI,1] (CCDCHIP 2), truncated from order 5
    (2, 0): (8.55494e-06, -1.74144e-06), (1, 1): (-5.21385e-06, 6.18812e-06),
    (0, 2): (2.16637e-06, -7.23608e-06), (3, 0): (-4.92005e-10, 1.00539e-10),
    (2, 1): (-2.70631e-11, -5.16523e-10), (1, 2): (-5.1969e-10, -7.52713e-11),
    (0, 3): (5.60296e-12, -3.78815e-10), (4, 0): (2.56454e-14, -1.84673e-14),
    (3, 1): (5.87855e-15, -9.57981e-16), (2, 2): (3.87947e-14, -3.13763e-14),
    (1, 3): (-8.4361e-15, 1.21878e-14), (0, 4): (1.76964e-14, 7.67614e-15)})
_SIP_WFC_CHIP1 = _sip({  # jbt122x8q_flc [SCI,2] (CCDCHIP 1)
    (2, 0): (8.52332e-06, -2.95143e-06), (1, 1): (-7.53014e-06, 6.45638e-06),
    (0, 2): (2.26374e-06, -9.7939e-06), (3, 0): (-4.89868e-10, 1.14412e-10),
    (2, 1): (-1.06705e-10, -4.08881e-10), (1, 2): (-5.01123e-10, -3.77114e-11),
    (0, 3): (8.8103e-11, -3.74938e-10), (4, 0): (2.05331e-14, -2.00142e-14),
    (3, 1): (3.6685e-14, -4.24647e-14), (2, 2): (9.52163e-14, -1.11952e-13),
    (1, 3): (-1.08778e-14, 8.20369e-15), (0, 4): (1.36031e-13, -1.53465e-13)})
_SIP_HRC = _sip({  # j8bt06nyq_flt [SCI,1]
    (2, 0): (-3.31636e-06, 2.0006e-06), (1, 1): (9.01865e-06, -2.66974e-06),
    (0, 2): (-7.08894e-07, 1.15077e-05), (3, 0): (9.65774e-11, 4.48761e-10),
    (2, 1): (-2.924e-11, 3.02073e-10), (1, 2): (4.10095e-10, -6.31164e-10),
    (0, 3): (-1.88152e-11, 7.35895e-10), (4, 0): (3.23745e-13, 2.66824e-13),
    (3, 1): (-2.22428e-12, -1.3065e-12), (2, 2): (-1.34582e-12, 9.93388e-13),
    (1, 3): (-1.84165e-13, -5.39321e-13), (0, 4): (3.52663e-14, -1.2781e-12)})
_SIP_IR = _sip({  # ib3y01c6q_flt (WFC3/IR, F125W) [SCI,1]
    (2, 0): (-1.86784e-07, 6.97816e-06), (1, 1): (2.4449e-05, -2.03794e-07),
    (0, 2): (4.73631e-08, 2.99875e-05), (3, 0): (-1.87697e-10, 3.66825e-11),
    (2, 1): (9.33802e-11, -2.85584e-10), (1, 2): (5.07616e-11, 2.35151e-11),
    (0, 3): (2.65011e-11, -2.00929e-10), (4, 0): (-3.13148e-13, -6.43841e-13),
    (3, 1): (5.25749e-13, 1.00607e-13), (2, 2): (5.99856e-15, -1.16836e-13),
    (1, 3): (5.55222e-13, -6.96773e-15), (0, 4): (-2.08521e-13, 7.52828e-13)})


@dataclass(frozen=True)
class Instrument:
    """One detector as the simulator models it (values from real headers of that detector)."""

    instrume: str
    detector: str
    shape: tuple            # real (ny, nx) per chip
    ccdchip: tuple          # CCDCHIP of SCI,1, SCI,2, ...
    sips: tuple             # SIP pattern per chip (for the real chip size)
    scale: float            # IDCSCALE, arcsec/pixel
    counts: bool            # True: SCI in electrons; False: electrons/s
    sky_rate: float         # default sky, e-/s/pixel
    dark_rate: float        # e-/s/pixel
    readnoise: float        # e-
    cr_fraction: float      # default fraction of pixels hit per 400 s
    amps: str               # CCDAMP
    filters: dict
    phot: dict              # PHOTMODE, PHOTFLAM, PHOTPLAM, PHOTBW, PHOTZPT
    pav3_minus_orientat: float  # PA_V3 - ORIENTAT as in real headers of this detector
    prefix: str             # first letter of the rootname
    aperture: str
    gap: float = 0.0        # rows between chips (ACS/WFC)


INSTRUMENTS = {
    "ACS/WFC": Instrument(
        "ACS", "WFC", (2048, 4096), (2, 1), (_SIP_WFC_CHIP2, _SIP_WFC_CHIP1), 0.05, True,
        0.10, 0.0086, 4.0, 0.01, "ABCD", {"FILTER1": "F606W", "FILTER2": "CLEAR2L"},
        {"PHOTMODE": "ACS WFC1 F606W", "PHOTFLAM": 7.73e-20, "PHOTPLAM": 5921.1,
         "PHOTBW": 672.3, "PHOTZPT": -21.1}, 182.84, "j", "WFC", gap=50.0),
    "ACS/HRC": Instrument(
        "ACS", "HRC", (1024, 1024), (1,), (_SIP_HRC,), 0.025, True,
        0.02, 0.0012, 4.7, 0.01, "C", {"FILTER1": "F606W", "FILTER2": "CLEAR2S"},
        {"PHOTMODE": "ACS HRC F606W", "PHOTFLAM": 1.278e-19, "PHOTPLAM": 5888.0,
         "PHOTBW": 666.0, "PHOTZPT": -21.1}, 0.28, "j", "HRC"),
    "WFC3/IR": Instrument(
        "WFC3", "IR", (1014, 1014), (1,), (_SIP_IR,), 0.1283, False,
        1.0, 0.03, 20.0, 0.0, "ABCD", {"FILTER": "F140W"},
        {"PHOTMODE": "WFC3 IR F140W", "PHOTFLAM": 1.4737e-20, "PHOTPLAM": 13922.9,
         "PHOTBW": 1132.4, "PHOTZPT": -21.1}, -44.69, "i", "IR"),
}


# Filters a simulated visit can use, per detector: (filter wheel, PHOTFLAM, PHOTPLAM, PHOTBW).
# Values are close to the real calibrations of these detectors; only their ratios and the
# pivot wavelengths (which order the colours) matter to the simulator. The instrument's default
# filter keeps exactly its values above.
FILTER_PHOT = {
    "ACS/WFC": {"F435W": (2, 3.15e-19, 4329.9, 293.5), "F475W": (1, 1.82e-19, 4746.9, 420.1),
                "F555W": (1, 1.97e-19, 5361.0, 360.0), "F606W": (1, 7.73e-20, 5921.1, 672.3),
                "F625W": (1, 1.19e-19, 6311.4, 415.5), "F775W": (1, 9.97e-20, 7693.0, 434.4),
                "F814W": (2, 7.07e-20, 8045.5, 654.6), "F850LP": (1, 1.51e-19, 9031.5, 525.8)},
    "ACS/HRC": {"F330W": (2, 2.23e-18, 3362.7, 174.0), "F555W": (1, 3.0e-19, 5357.0, 357.0),
                "F606W": (1, 1.278e-19, 5888.0, 666.0), "F814W": (2, 2.5e-19, 8100.0, 650.0)},
    "WFC3/IR": {"F105W": (0, 3.04e-20, 10552.0, 865.0), "F110W": (0, 1.53e-20, 11534.0, 1428.0),
                "F125W": (0, 2.25e-20, 12486.0, 867.0), "F140W": (0, 1.4737e-20, 13922.9, 1132.4),
                "F160W": (0, 1.92e-20, 15369.0, 826.3)},
}


def with_filter(key, inst, filter_name):
    """`inst` seen through `filter_name`: its filter-wheel keywords (ACS: the other wheel holds
    its clear element) and PHOT* values. An unknown filter is an InputError listing the known."""
    table = FILTER_PHOT[key]
    name = filter_name.upper()
    if name not in table:
        raise InputError("filters", f"{key} has no simulated filter {filter_name!r}; choose from "
                                    f"{sorted(table)}")
    wheel, photflam, photplam, photbw = table[name]
    if wheel == 0:
        filters = {"FILTER": name}
    else:
        clear = {1: "CLEAR1", 2: "CLEAR2"}
        size = "L" if inst.detector == "WFC" else "S"
        filters = {f"FILTER{w}": name if w == wheel else clear[w] + size for w in (1, 2)}
    phot = {"PHOTMODE": inst.phot["PHOTMODE"].rsplit(" ", 1)[0] + " " + name,
            "PHOTFLAM": photflam, "PHOTPLAM": photplam, "PHOTBW": photbw,
            "PHOTZPT": inst.phot["PHOTZPT"]}
    return replace(inst, filters=filters, phot=phot)


def lookup_instrument(name):
    """('ACS/WFC', its Instrument) for any spelling such as 'acs_wfc' or 'ACS / WFC'."""
    key = name.upper().replace(" ", "").replace("_", "/")
    if key not in INSTRUMENTS:
        raise InputError("instrument", f"unknown instrument {name!r}; choose from {sorted(INSTRUMENTS)}")
    return key, INSTRUMENTS[key]

"""DQ bit expressions (SPEC §1.3), through astropy.nddata.bitmask."""
import numpy as np
from astropy.nddata import bitmask


def interpret_bits(bits):
    """AstroDrizzle's ``*_bits`` value -> flags to ignore (None = ignore every flag)."""
    if bits is None:
        return None
    if isinstance(bits, (int, np.integer)):
        return int(bits)
    text = str(bits).strip()
    if text.upper() in ("NONE", "INDEF"):
        return None
    return bitmask.interpret_bit_flags(text or "0")


def good_pixels(dq, bits):
    """True where the pixel is good: every DQ flag not listed in ``bits`` is clear."""
    flags = interpret_bits(bits)
    if flags is None:
        return np.ones(dq.shape, dtype=bool)
    return bitmask.bitfield_to_boolean_mask(dq, ignore_flags=flags, good_mask_value=True, dtype=bool)


def reset_bits(dq, bits):
    """DQ with the ``resetbits`` flags cleared (AstroDrizzle does this in place; we on a copy)."""
    flags = interpret_bits(bits)
    if not flags:
        return dq
    return dq & np.array(~flags).astype(dq.dtype)

"""Synthetic, truth-known HST exposures (ACS/WFC, ACS/HRC, WFC3/IR) that both DrizzlePac 3.11.0's
AstroDrizzle and this pipeline accept.

The simulator by concern:
  instruments  the detectors: chip size and order, scale, noise, photometry, real SIP patterns
  geometry     the aperture frame of a pointing, the chips in it, their header WCS (CD + SIP),
               where a sky position really lands (the headers are the truth, except for
               optional pointing errors, which move the sources but not the headers)
  scene        the stars and galaxies (truth tables) and their rendering on a chip
  detector     sky, dark, hot pixels, bad column, Poisson and read noise, cosmic rays
  headers      primary and SCI/ERR/DQ headers with what AstroDrizzle needs, rootnames
  dataset      make_dataset (files + truth), make_demo, load_dataset, true_pixels
  visit        make_visit: one scene through several filters (colours), one HST visit's names
  association  write_association: an _asn.fits table of exposures (runastrodriz's input)

Units. ACS SCI/ERR are electrons (BUNIT ELECTRONS), WFC3/IR electrons/s (BUNIT ELECTRONS/S);
source fluxes are always e-/s, so a star's total counts are ``flux * EXPTIME`` electrons.
"""
from snakedrizzle.simulate.association import write_association
from snakedrizzle.simulate.apriori import add_solution
from snakedrizzle.simulate.dataset import Dataset, load_dataset, make_dataset, make_demo, true_pixels
from snakedrizzle.simulate.instruments import FILTER_PHOT, INSTRUMENTS
from snakedrizzle.simulate.visit import make_visit

__all__ = ["Dataset", "make_dataset", "make_demo", "make_visit", "load_dataset", "true_pixels",
           "INSTRUMENTS", "FILTER_PHOT", "write_association", "add_solution"]

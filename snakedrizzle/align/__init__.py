"""TweakReg as library steps (SPEC §3): per-chip source catalogs (photutils), matching and fitting
against a reference catalog (tweakwcs), aligned WCSs as stwcs headerlets, the shifts table and plots.

Every step takes plain parameters under DrizzlePac's names; the workflow (rules/align.smk) and
``snakedrizzle.tweakreg.TweakReg`` call the same functions."""

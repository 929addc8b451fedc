"""AstroDrizzle's steps (SPEC §1).

Array cores, functions of arrays, WCS objects and explicit parameters, usable without files:
``static`` (static mask), ``sky`` (sky statistics and values), ``adrizzle`` (drizzle, windows),
``median`` (minmed/median combine), ``ablot`` (blot), ``drizcr`` (CR masks and cleaning),
``frame_bounds`` (sane output frames), ``preview`` (report figures); ``stats``, ``masks`` and
``parallel`` support them.

The file layer, one function per workflow rule that reads, calls a core and writes atomically:
``files`` (prepare, static mask, sky, separate frame, separate drizzle), ``files_cr`` (median,
blot, driz_cr, crclean), ``files_final`` (final drizzle); ``chips`` opens exposures for them,
``product`` and ``provenance`` make the product's headers."""

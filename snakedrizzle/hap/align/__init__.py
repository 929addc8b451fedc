"""SVM alignment of a visit to an astrometric catalog (SPEC-HAP H6), as DAG stages:

``sources``  per-exposure source lists (H6.1-H6.2, simplified: see that module)
``refcat``   the reference catalog of the visit: a local table in Gaia's column names, or the
             Gaia archive through astroquery, written as a file target (H6.3, H11)
``fit``      one fit of all exposures of a detector together: relative, then absolute, with
             tweakwcs; quality codes 1-5 (H6.4-H6.6)
``stages``   the file-level stages the rules call: source list, reference catalog, fit table,
             headerlet per exposure (H6.7)
"""

"""HAP point and segment catalogs of SVM filter and total products (SPEC-HAP H7).

Sources are found once, on the total (detection) image, and measured on every filter image, so
a source has one ID and one position in every catalog of its detector:

- :mod:`.params`      H7.1 parameters per detector (``parameter_sets/catalogs.yaml``) and CI limits
- :mod:`.background`  H7.2 background and noise of a drizzled product
- :mod:`.regions`     H7.3 weight regions of the total and their detection thresholds
- :mod:`.point`       H7.4 point-source detection, H7.6 aperture photometry
- :mod:`.segment`     H7.5 segmentation, deblending and ``SourceCatalog`` measurements
- :mod:`.flags`       H7.7 flag bits
- :mod:`.columns`     H7.9 column names, units, formats, metadata; ECSV writing
- :mod:`.product`     what a stage reads from a HAP product
- :mod:`.stages`      the file-level stages the rules of ``rules/hap.smk`` call
- :mod:`.plan`        catalog files, inputs and parameters of an SVM plan (the rules' lambdas)
"""

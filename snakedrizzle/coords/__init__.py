"""Coordinate transforms with DrizzlePac's names and arguments: ``pixtosky.xy2rd``,
``skytopix.rd2xy``, ``pixtopix.tran`` (and their console scripts), over the full distortion
model of the images (``distortion``); ``tables`` formats and reads coordinate lists, ``regions``
carries DS9 regions between sky and image as DrizzlePac's mapreg does."""

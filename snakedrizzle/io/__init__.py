"""Reading and writing FITS: the only place that knows about files, extensions and atomic writes."""
from snakedrizzle.io.fitsio import atomic_path, write_hdulist, write_image, read_json, write_json

__all__ = ["atomic_path", "write_hdulist", "write_image", "read_json", "write_json"]

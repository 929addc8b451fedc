"""snakedrizzle: DrizzlePac's drizzling, alignment and coordinate tools as a Snakemake workflow
over a library of plain step functions."""
__version__ = "0.1.0"

"""DrizzlePac's header and pixel tools with its arguments: photeq, pixreplace, mapreg, updatenpol,
resetbits. Tools DrizzlePac runs in place write a new file unless asked for ``in_place``."""

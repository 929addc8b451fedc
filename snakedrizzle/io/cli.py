"""The error handling every command-line tool shares (pixtosky, skytopix, pixtopix, photeq,
pixreplace, resetbits, updatenpol, mapreg).

Users of these tools read one line that names the file and the problem, not a traceback:
bad input (:class:`InputError`) and file-system failures (``OSError``: permission denied, disk
full) end with that line on stderr and exit status 1; argparse keeps exit status 2 for a bad
command line. Warnings are shown as one ``<tool>: warning: ...`` line each.
"""
import sys
import warnings

from snakedrizzle.errors import InputError

__all__ = ["run_cli"]


def run_cli(name, body):
    """Call ``body()`` for the tool ``name``; return the exit status (0, or 1 on failure)."""
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{name}: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():  # restores showwarning on exit
        warnings.showwarning = show
        try:
            body()
        except InputError as exc:
            print(f"{name}: error: {exc}", file=sys.stderr)
            return 1
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            print(f"{name}: error: {where}{exc.strerror or exc}", file=sys.stderr)
            return 1
    return 0

"""The one exception type users see for bad input: it always names the file and the problem."""


class InputError(ValueError):
    """Bad input: an unreadable file, a missing extension, an unusable keyword, a bad parameter.

    The message names the file (or parameter) and the problem, so a failed workflow job tells
    the user what to fix without a traceback hunt.
    """

    def __init__(self, path, problem):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

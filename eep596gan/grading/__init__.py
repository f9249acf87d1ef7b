"""Autograding for the course's nbgrader assignments: `eep596gan grade`.

`grade()` runs a TA's batch: every student's notebook in its own sandboxed kernel, the source
notebook's tests (hidden ones included) restored over whatever the student did to them, a guard
around every test against patched checking functions and delegation to the library, per-cell
timeouts, kernels that die, broken files; it writes grades.csv and scrubbed feedback HTML.
"""

from .api import COLUMNS, add_arguments, grade, run
from .course import Course, find_course, generate_release

__all__ = ["grade", "add_arguments", "run", "COLUMNS", "Course", "find_course", "generate_release"]

"""Autograding for the course's nbgrader assignments: `eep596gan grade`.

`grade()` runs a TA's batch: every student's notebook in its own sandboxed kernel, the source
notebook's tests (hidden ones included) restored over whatever the student did to them, a guard
around every test against patched checking functions and delegation to the library, per-cell
timeouts, kernels that die, broken files; it writes grades.csv and scrubbed feedback HTML.

One home per concept (a module imports only modules named before it here):
- verdict: typed findings, test outcomes, notebook statuses and their precedence;
- sandbox, outputs, kernel: the sandbox, capped outputs, one kernel per notebook;
- references, source, course: what a student may not call, a parsed source notebook, the
  course folder and `generate_release` (the one release generator);
- guard (+ the kernel-side `_kernel_*.py`), assemble, runner: one notebook run and scored;
- submissions, feedback, student: LMS files, feedback pages, one student graded;
- worker, api: students in parallel, `grade()` and the CLI.
"""

from .api import COLUMNS, add_arguments, grade, run
from .course import Course, find_course, generate_release

__all__ = ["grade", "add_arguments", "run", "COLUMNS", "Course", "find_course", "generate_release"]

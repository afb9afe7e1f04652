"""Reports of a comparison and its verdicts: HTML, Markdown, JSON, pytest-html extras.

Each renderer is a pure function returning a string, in its own module
(:mod:`~pytest_runcompare.report.html`, :mod:`~pytest_runcompare.report.markdown`,
:mod:`~pytest_runcompare.report.json_report`, :mod:`~pytest_runcompare.report.extras`);
importing this package imports neither jinja2 nor numpy.
"""

from __future__ import annotations

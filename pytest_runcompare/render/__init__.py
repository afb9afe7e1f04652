"""The faces of a judgement: pure functions of a :class:`~pytest_runcompare.pipeline.Judgement`.

One module per face: :mod:`.terminal` (the gate table, failure messages, session
notes), :mod:`.html`, :mod:`.markdown`, :mod:`.json_report`, :mod:`.junit`,
:mod:`.github` (annotations), :mod:`.extras` (pytest-html); :mod:`.model` holds the
plain rows they share and :mod:`.write` writes the requested files. None of them
decides an outcome; importing this package imports neither jinja2 nor numpy.
"""

from __future__ import annotations

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from report_data import (
    HOSTILE_ID,
    HOSTILE_METRIC,
    HOSTILE_OUTPUTS,
    HOSTILE_PARAM,
    HOSTILE_SLICE,
    make_comparison,
    make_judgement,
)

from pytest_runcompare.render.html import csp_hash, embed_json, render_html
from pytest_runcompare.render.model import TestRecord

TESTS = (
    TestRecord("tests/test_gates.py::test_accuracy", "failed", "<b>boom</b>"),
    TestRecord("tests/test_gates.py::test_latency", "passed", ""),
)


@pytest.fixture(scope="module")
def page(comparison, judgement) -> str:
    return render_html(
        comparison, judgement, tests=TESTS, generated="2024-05-01T12:00Z"
    )


def _script_blocks(html: str) -> list[tuple[str, str]]:
    return re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)


def test_same_comparison_renders_the_same_bytes(comparison, judgement, page):
    again = render_html(
        make_comparison(),
        make_judgement(comparison),
        tests=TESTS,
        generated="2024-05-01T12:00Z",
    )
    assert again == page


def test_timestamp_appears_in_one_place_only(comparison, judgement, page):
    assert page.count("2024-05-01T12:00Z") == 1
    assert (
        "generated"
        not in render_html(comparison, judgement)
        .split("<footer>")[0]
        .split('class="meta"')[1]
        .split("</div>")[0]
    )


def test_csp_allows_only_our_own_script_and_style(page):
    match = re.search(
        r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page
    )
    assert match is not None
    policy = match.group(1).replace("&#39;", "'")
    assert "default-src 'none'" in policy
    blocks = _script_blocks(page)
    executable = [body for attrs, body in blocks if "application/json" not in attrs]
    assert len(executable) == 1
    assert f"script-src {csp_hash(executable[0])};" in policy
    (style,) = re.findall(r"<style>(.*?)</style>", page, flags=re.S)
    assert f"style-src {csp_hash(style)};" in policy
    # no external reference of any kind
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
    assert "@import" not in page
    assert " style=" not in page  # inline style attributes would need 'unsafe-inline'
    assert not re.search(r"<[^>]*\son[a-z]+=", page)  # no event-handler attribute


def test_json_block_cannot_be_closed_by_data(page):
    blocks = _script_blocks(page)
    data = [body for attrs, body in blocks if 'type="application/json"' in attrs]
    assert len(data) == 1
    body = data[0]
    assert "<" not in body
    assert ">" not in body
    parsed = json.loads(body)
    new_texts = {
        "".join(t for op, t in d["seg"] if op != "-")
        for d in parsed["details"]
        if "seg" in d
    }
    assert set(HOSTILE_OUTPUTS) <= new_texts
    assert HOSTILE_ID in parsed["ids"]


def test_embed_json_round_trips_hostile_strings():
    value = {"a": "</script><!--<script>", "b": "\u2028&amp;", "<k>": [1.5, None]}
    text = embed_json(value)
    assert "<" not in text
    assert ">" not in text
    assert "&" not in text
    assert json.loads(text) == value


@pytest.mark.parametrize(
    "hostile",
    [
        HOSTILE_ID,
        HOSTILE_METRIC,
        HOSTILE_SLICE,
        HOSTILE_PARAM,
        "<script>x</script>",
        "<em>not markup</em>",
        "<b>boom</b>",
    ],
)
def test_untrusted_strings_never_become_markup(page, hostile):
    """Names, metric names, slice tags, params, verdict texts, test messages: all escaped."""
    assert hostile not in page
    escaped = hostile.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = escaped.replace('"', "&#34;").replace("'", "&#39;")
    if hostile != HOSTILE_ID:  # ids live in the JSON data only
        assert escaped in page


def test_summary_shows_gates_lineage_tests_and_tables(page):
    declared, warn_only = page.split('id="warn-gates-table"')
    # the inconclusive gate fails the build: red like the failures
    assert declared.count('class="fail" data-key=') == 3
    assert 'class="fail" data-key="accuracy[lang:de]"' in declared
    # a warn-only gate never fails the build: amber, whatever its data said
    assert warn_only.count('class="inconclusive" data-key="f1[hard]"') == 1
    assert '<div class="overall fail" id="overall">' in page
    assert "1 of 1 warn-only gates flagged" in page
    assert 'data-key="accuracy[lang:de]"' in page
    assert "tests/test_gates.py::test_accuracy" in page
    assert "&lt;b&gt;boom&lt;/b&gt;" in page
    assert (
        '<tr class="changed"><td><code>params.lr</code></td><td class="val old">0.001</td><td class="val new">0.002</td>'
        in page
    )
    assert 'id="step-select"' in page
    assert ">retrieve</option>" in page
    assert 'id="slices-table"' in page
    assert page.count('<svg class="chart"') >= 6


def test_max_outputs_caps_embedded_details_and_says_so(comparison, judgement):
    page = render_html(comparison, judgement, max_outputs=5)
    data = json.loads(
        re.search(r'id="rc-data">(.*?)</script>', page, flags=re.S).group(1)
    )
    assert len(data["details"]) == 5
    assert data["omitted"] == len(data["ids"]) - 5
    assert f"{data['omitted']} other datapoints show their metrics only" in page
    # the most changed come first: all five have a changed output
    assert all(data["changed"][d["row"]] for d in data["details"])
    with pytest.raises(ValueError, match="max_outputs must be >= 0"):
        render_html(comparison, judgement, max_outputs=-1)


def test_renders_without_verdicts_slices_or_steps():
    comparison = make_comparison(8, hostile=False, steps=False)
    page = render_html(comparison, make_judgement(comparison, []))
    assert "No gates were evaluated." in page
    assert "NO GATES" in page
    assert 'id="step-select"' not in page


def test_importing_the_report_package_imports_neither_jinja2_nor_numpy():
    code = (
        "import sys, pytest_runcompare.render, pytest_runcompare.render.model, "
        "pytest_runcompare.render.markdown, pytest_runcompare.render.extras, "
        "pytest_runcompare.render.json_report, pytest_runcompare.render.html, pytest_runcompare.diff\n"
        "bad = [m for m in ('jinja2', 'numpy', 'scipy', 'pytest') if m in sys.modules]\n"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

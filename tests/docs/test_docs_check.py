"""The docs-check's own parsing: markers, output blocks, small sizes (runs in make test)."""

from __future__ import annotations

import subprocess

import pytest

from tests.docs.docs_check import (
    ROOT,
    expect_errors,
    missing_numbers,
    pages,
    parse,
    with_small,
)

PAGE = """# A page

```bash
python -m sim seed=1
```

It prints:

```
compliance_gap 0.121 [0.119,0.124]
```

<!-- docs-check: skip: needs a cluster -->
```bash
sbatch job.sh
```

<!-- docs-check: small: n_agents=50 -->
```bash
python -m sim -m trainer.rho=0.1,0.2 \\
  replicates=8   # the long one
```

## Formulas

```
delta = 0.5 - x
```
"""


def _blocks(tmp_path, text=PAGE):
    page = ROOT / "docs" / "_docs_check_fixture.md"  # parse() names pages relative to ROOT
    page.write_text(text)
    try:
        return parse(page)
    finally:
        page.unlink()


def test_markers_and_output_blocks(tmp_path):
    run, out, skipped, small, formula = _blocks(tmp_path)
    assert run.runs and run.output is out and out.marker == "output"
    assert not skipped.runs and skipped.arg == "needs a cluster"
    assert small.marker == "small" and small.arg == "n_agents=50"
    assert formula.marker is None  # after a heading: not taken for output


def test_small_appends_to_each_command_before_its_comment(tmp_path):
    small = _blocks(tmp_path)[3]
    assert with_small(small.body, small.arg) == (
        "python -m sim -m trainer.rho=0.1,0.2 replicates=8 n_agents=50   # the long one"
    )


def test_numbers_of_the_output_must_be_printed(tmp_path):
    run = _blocks(tmp_path)[0]
    assert missing_numbers(run, "compliance_gap 0.121 [0.119,0.124]") == []
    assert missing_numbers(run, "compliance_gap 0.122 [0.119,0.124]") == ["0.121"]


def test_a_documented_error_must_happen(tmp_path):
    def run(line):
        script = expect_errors(line)
        return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path,
                              capture_output=True, text=True).returncode  # fmt: skip

    assert run("ls /no/such  # error: ... No such file ... directory") == 0
    assert run("ls /no/such  # error: permission denied") == 1  # another message
    assert run("ls /  # error: No such file") == 1  # no error at all


@pytest.mark.parametrize("bad", ["<!-- docs-check: skip -->\n```bash\nx\n```\n",
                                 "```bash\npip install -e .\n```\n",
                                 "<!-- docs-check: bogus -->\n```bash\nx\n```\n",
                                 "```bash\nx\n"])  # fmt: skip
def test_bad_markers_are_refused(tmp_path, bad):
    with pytest.raises(ValueError, match="_docs_check_fixture.md:1"):
        _blocks(tmp_path, bad)


def test_every_page_parses():
    for page in pages():
        parse(page)  # raises on a bad marker or an unclosed fence

"""Every documented command works as written: ``make docs-check`` (marked ``docs``).

Each page of README.md and docs/ runs in its own scratch copy of the checkout
(tests/docs/docs_check.py; docs/docs-check.md). Not part of ``make test``: CI runs it
after the suite, on both cores, within its time budget.
"""

from __future__ import annotations

import pytest

from tests.docs.docs_check import ROOT, missing_numbers, pages, parse, run_block, scratch_copy

PAGES = [p for p in pages() if any(b.runs for b in parse(p))]


@pytest.mark.docs
@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_runs_as_written(page, tmp_path):
    work = scratch_copy(tmp_path / "checkout")
    failures = []
    for block in (b for b in parse(page) if b.runs):
        proc = run_block(block, work)
        printed = proc.stdout + proc.stderr
        if proc.returncode != 0:
            tail = "\n    ".join(printed.strip().splitlines()[-8:])
            failures.append(f"{block.where()}: exit {proc.returncode}\n    {tail}")
        elif missing := missing_numbers(block, printed):
            failures.append(
                f"{block.where()}: its output block ({block.output.where()}) shows "
                f"{', '.join(missing[:10])}, which it no longer prints"
            )
    assert not failures, "\n".join(failures)

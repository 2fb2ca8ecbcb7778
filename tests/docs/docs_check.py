"""The docs-check: run the shell and Python blocks of README.md and docs/*.md as written.

Each page runs in its own scratch copy of the checkout (``.venv`` linked in), its blocks
in order, so a page's later blocks may read what its earlier ones wrote and nothing is
written into the checkout. A block fails the check when it exits non-zero, or when a
number in the output block that follows it does not appear in what it printed.

A comment on the line before a block's fence changes how it is run (docs/docs-check.md):

- ``<!-- docs-check: skip: REASON -->``: not run (a reason is required).
- ``<!-- docs-check: small: ARGS -->``: ARGS are appended to every ``python -m sim`` /
  ``python -m analysis`` command of the block (a long command, checked at a small size;
  its output block is then not compared).
- ``<!-- docs-check: instead: COMMAND -->``: COMMAND is run in place of the block (the
  README's quick start runs ``make run``; CI runs ``make test`` itself).
- ``<!-- docs-check: output -->`` marks an output block (a fence with no language right
  after a run block is one too); ``<!-- docs-check: output: unchecked: REASON -->`` shows
  output whose numbers are not compared (timings, timestamps).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN_LANGS = {"bash": "bash", "sh": "bash", "shell": "bash", "console": "bash", "python": "python"}
_MARKER = re.compile(r"^<!--\s*docs-check:\s*(?P<kind>[a-z]+)\s*(?::\s*(?P<arg>.*?))?\s*-->$")
_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<info>[^`\s]*)\s*$")
_NUMBER = re.compile(r"(?<![\w.])-?\d+\.\d+(?![\w.])")
KINDS = {"skip", "small", "instead", "output"}
# Commands that would change the shared virtual environment: such a block must be skipped.
_INSTALLS = re.compile(r"\bpip3? (?:install|uninstall)\b|\bmake (?:setup|clean)\b|rm -rf \.venv")


@dataclass
class Block:
    """A fenced code block of a page, with the marker before it."""

    page: str
    line: int  # 1-based line of the opening fence
    lang: str  # the info string
    body: str
    marker: str | None = None  # skip | small | output
    arg: str | None = None
    output: Block | None = None  # the output block shown after a run block

    @property
    def runs(self) -> bool:
        """Whether the check runs it (a shell or Python block not marked skip)."""
        return self.lang in RUN_LANGS and self.marker != "skip"

    def where(self) -> str:
        """``page:line``, for messages."""
        return f"{self.page}:{self.line}"


def pages() -> list[Path]:
    """The pages the check reads: README.md and docs/*.md."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def parse(path: Path) -> list[Block]:
    """The fenced blocks of a page, markers attached and output blocks paired with runs.

    A marker applies to the next fence when only blank lines lie between. A fence with no
    language (or ``text``) is the output of the run block before it when no other fence
    and no heading lie between them; one marked ``output`` is the output of the page's
    last run block before it.

    Raises:
        ValueError: for an unknown marker, a skip without a reason, or an unclosed fence.
    """
    name = str(path.relative_to(ROOT))
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    pending: tuple[str, str | None] | None = None
    run_before = False  # the last fence was a run block, and no heading since
    i = 0
    while i < len(lines):
        text = lines[i].strip()
        marker = _MARKER.match(text)
        fence = _FENCE.match(lines[i])
        if marker:
            kind, arg = marker.group("kind"), marker.group("arg")
            if kind not in KINDS:
                raise ValueError(f"{name}:{i + 1}: unknown docs-check marker {kind!r}")
            if kind in ("skip", "small", "instead") and not arg:
                raise ValueError(f"{name}:{i + 1}: docs-check: {kind} needs an argument")
            pending = (kind, arg)
        elif not fence:
            if text:
                pending = None
            if text.startswith("#"):
                run_before = False
        else:
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), None)
            if end is None:
                raise ValueError(f"{name}:{i + 1}: unclosed code fence")
            indent = len(fence.group("indent"))
            body = "\n".join(ln[indent:] for ln in lines[i + 1 : end])
            block = Block(name, i + 1, fence.group("info"), body, *(pending or (None, None)))
            if block.runs and _INSTALLS.search(block.body):
                raise ValueError(
                    f"{name}:{i + 1}: installs or removes packages in the shared .venv; "
                    "mark it <!-- docs-check: skip: REASON -->"
                )
            untyped = block.lang in ("", "text") and block.marker is None and run_before
            runs = [b for b in blocks if b.runs]
            if block.marker == "output" and not runs:
                raise ValueError(f"{name}:{i + 1}: an output block with no run block before it")
            if block.marker == "output" or untyped:  # the output of the last run block
                block.marker = "output"
                runs[-1].output = block
            blocks.append(block)
            pending = None
            run_before = block.runs
            i = end
        i += 1
    return blocks


def with_small(body: str, args: str) -> str:
    """The block with ARGS appended to each command of the simulator or the analyses."""
    logical = re.sub(r"\s*\\\n\s*", " ", body).splitlines()
    out = []
    for line in logical:
        parts = re.split(r"(\s+#\s)", line, maxsplit=1)
        code, comment = parts[0], "".join(parts[1:])
        if re.search(r"-m (?:sim|analysis)\b|^\s*(?:\S+/)?tis(?:-analysis)?\b", code):
            code = f"{code.rstrip()} {args}"
        out.append(code + comment)
    return "\n".join(out)


_EXPECTED = re.compile(r"^(?P<cmd>.*?)\s+#\s*error:\s*(?P<msg>.+)$")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def expect_errors(body: str) -> str:
    """A shell block in which each ``CMD  # error: MESSAGE`` line must fail with MESSAGE.

    Such a command must exit non-zero and print every part of MESSAGE (``...`` separates
    the parts) on stderr; the block fails otherwise.
    """
    out = []
    for line in re.sub(r"\s*\\\n\s*", " ", body).splitlines():
        m = _EXPECTED.match(line)
        if not m:
            out.append(line)
            continue
        cmd = m.group("cmd")
        unexpected = _quote(f"docs-check: expected an error: {cmd}")
        out.append(f"if {{ {cmd}; }} 2> .docs_check_err; then echo {unexpected} >&2; exit 1; fi")
        for part in filter(None, (p.strip() for p in m.group("msg").split("..."))):
            absent = _quote(f"docs-check: not printed: {part}")
            show = f"{{ cat .docs_check_err >&2; echo {absent} >&2; exit 1; }}"
            out.append(f"grep -qF -- {_quote(part)} .docs_check_err || {show}")
    return "\n".join(out)


def scratch_copy(dest: Path) -> Path:
    """Copy the checkout's tracked and new files into ``dest``, with ``.venv`` linked in."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    (dest / ".venv").symlink_to(ROOT / ".venv", target_is_directory=True)
    stamp = ROOT / ".venv" / ".installed"  # make in the copy must not set the .venv up again
    if stamp.exists():
        when = min(stamp.stat().st_mtime, (dest / "pyproject.toml").stat().st_mtime) - 1
        os.utime(dest / "pyproject.toml", (when, when))
    return dest


def run_block(block: Block, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run one block in ``cwd`` with the checkout's virtual environment first on PATH."""
    body = {"small": lambda: with_small(block.body, block.arg), "instead": lambda: block.arg}.get(
        block.marker, lambda: block.body
    )()
    env = dict(os.environ, PATH=f"{cwd / '.venv' / 'bin'}:{os.environ['PATH']}",
               PYTHONPATH=str(cwd), HYDRA_FULL_ERROR="0", MPLBACKEND="Agg")  # fmt: skip
    env.pop("VIRTUAL_ENV", None)
    if RUN_LANGS[block.lang] == "python":
        script = cwd / f"_docs_block_{block.line}.py"
        script.write_text(body, encoding="utf-8")
        cmd = [str(cwd / ".venv" / "bin" / "python"), script.name]
    else:
        body = expect_errors(re.sub(r"^\$ ", "", body, flags=re.M))  # console prompts
        cmd = ["bash", "-euo", "pipefail", "-c", body]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def numbers(text: str) -> list[str]:
    """The decimal numbers of a text (``0.136``, ``-0.074``), as written."""
    return _NUMBER.findall(text)


def missing_numbers(block: Block, printed: str) -> list[str]:
    """Numbers of the block's output that its run did not print (empty when not compared)."""
    out = block.output
    if out is None or block.marker == "small" or (out.arg or "").startswith("unchecked"):
        return []
    seen = set(numbers(printed))
    return [n for n in dict.fromkeys(numbers(out.body)) if n not in seen]

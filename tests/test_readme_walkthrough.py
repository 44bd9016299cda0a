"""The README's ten-minute walk-through runs as written (issue 26).

Every command of the walk-through's `bash` blocks is run, in order, as a reader runs it: in a
second terminal of a folder where `casework up` runs on its embedded default (the demo
directory, its state in `.state/`), with the checkout's environment activated, nothing in the
environment but what the README's lines put there (`export`, `NAME=$(...)`), and no profiles
file of the reader's own. Each must end as the README says: exit 0, or, where a line is marked
`# refused on purpose (exit N): "words"`, exit N with those words in what it prints.

The engine runs on free ports (the README's 7233 and 8234 may be taken here); the CLI finds it
as a reader's does, from the state folder's profiles and lock. Escalating hands a case back to
routing, and the README asks the reader to give it a moment: so does this test, by waiting for
the case to leave the queue before the next command.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import eventually
from tests.test_up import Engine, clean_env, free_port

pytestmark = pytest.mark.timeout(120)

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## A ten-minute walk-through"
REFUSED = re.compile(r"\s#\s*refused on purpose \(exit (\d)\):\s*\"([^\"]+)\"\s*$")
DEFINES = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=")
ACTIVATE = [".", ".venv/bin/activate"]
VENV_BIN = str(Path(sys.executable).parent)
COMMAND_TIMEOUT = 60.0
ASSIGNED_WITHIN = 30.0

KNOWN_BROKEN: dict[str, str] = {}
"""Walk-through commands that fail today for a known reason: xfail(strict=True), so the fix
that lands turns them into failures until this entry goes."""


@dataclass(frozen=True)
class Step:
    """One line of the walk-through, with what the README says it does."""

    number: int
    line: str
    exit_code: int = 0
    says: str | None = None

    @property
    def defines(self) -> str | None:
        """The variable the line sets for the lines after it (`export X=...`, `X=$(...)`)."""
        found = DEFINES.match(self.line)
        return found.group(1) if found else None


def walkthrough(readme: str) -> list[Step]:
    """The commands of the walk-through section's `bash` blocks, in order."""
    start = readme.index(SECTION)
    end = readme.find("\n## ", start + len(SECTION))
    section = readme[start : end if end != -1 else None]
    steps: list[Step] = []
    for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            refused = REFUSED.search(line)
            steps.append(
                Step(
                    number=len(steps) + 1,
                    line=line,
                    exit_code=int(refused.group(1)) if refused else 0,
                    says=refused.group(2) if refused else None,
                )
            )
    return steps


STEPS = walkthrough(README.read_text(encoding="utf-8"))


@dataclass
class Outcome:
    exit_code: int
    output: str


@dataclass
class Walk:
    """A reader's second terminal beside a running engine: the lines run so far, in order."""

    engine: Engine
    home: Path
    env: dict[str, str]
    outcomes: dict[int, Outcome] = field(default_factory=dict)

    async def outcome_of(self, step: Step) -> Outcome:
        """The outcome of `step`, after every line before it has run (once each)."""
        for earlier in STEPS[: step.number]:
            if earlier.number not in self.outcomes:
                self.outcomes[earlier.number] = await self._run(earlier)
        return self.outcomes[step.number]

    async def _run(self, step: Step) -> Outcome:
        if shlex.split(step.line, comments=True) == ACTIVATE:  # the checkout's: this test's own
            on_path = self.env["PATH"].split(os.pathsep)[0] == VENV_BIN
            return Outcome(0 if on_path else 1, f"PATH starts with {VENV_BIN}: {on_path}")
        name = step.defines
        script = step.line if name is None else f'{step.line}\nprintf "%s" "${name}"'
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=self.home,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
        if name is not None and done.returncode == 0:
            self.env[name] = done.stdout
        outcome = Outcome(done.returncode, done.stdout + done.stderr)
        escalated = escalation_of(step.line)
        if escalated is not None and done.returncode == 0:
            await eventually(lambda: self._assigned(*escalated), timeout=ASSIGNED_WITHIN)
        return outcome

    def _assigned(self, profile: str, case: str) -> bool:
        """Whether routing has given the escalated case to someone (it left the queue), read
        from the door as `profile` (what `casework show` reads, without starting a process)."""
        person = tomllib.loads((self.home / ".state" / "profiles.toml").read_text())["profiles"]
        url, key = person[profile]["url"], person[profile]["key"]
        answer = httpx.get(
            f"{url}/v1/cases/{case}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=COMMAND_TIMEOUT,
        )
        return answer.status_code == 200 and answer.json()["state"] != "queued"


def escalation_of(line: str) -> tuple[str, str] | None:
    """(profile, case) of a `casework --profile P escalate CASE ...` line, else None."""
    words = shlex.split(line, comments=True)
    if words[:2] != ["casework", "--profile"] or len(words) < 5 or words[3] != "escalate":
        return None
    return words[2], words[4]


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walk]:
    """`casework up` on its defaults in a fresh folder (free ports), and a terminal beside it
    in that folder: the checkout's environment first on PATH, no CASEWORK_* or TEMPORAL_*
    variables, a home without profiles of its own."""
    home = tmp_path_factory.mktemp("reader")
    engine = Engine(home / ".state", free_port(), free_port())
    try:
        engine.wait_for("Ctrl+C")
        env = clean_env(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"))
        env["PATH"] = os.pathsep.join([VENV_BIN, env.get("PATH", "")])
        yield Walk(engine, home, env)
    finally:
        engine.kill()


def as_param(step: Step) -> object:
    marks = []
    if step.line in KNOWN_BROKEN:
        marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_BROKEN[step.line]))
    return pytest.param(step, marks=marks, id=f"{step.number:02d} {step.line[:70]}")


@pytest.mark.parametrize("step", [as_param(step) for step in STEPS])
async def test_each_command_ends_as_the_readme_says(walk: Walk, step: Step) -> None:
    outcome = await walk.outcome_of(step)
    said = f"$ {step.line}\n{outcome.output}"
    if step.exit_code == 0:
        assert outcome.exit_code == 0, f"exited {outcome.exit_code}, the README says 0:\n{said}"
    else:
        assert outcome.exit_code == step.exit_code, (
            f"exited {outcome.exit_code}, the README says it is refused with exit "
            f"{step.exit_code}:\n{said}"
        )
        assert step.says in outcome.output, f"the refusal does not say {step.says!r}:\n{said}"
    assert "Traceback" not in outcome.output, said
    if step.defines is not None:
        assert walk.env.get(step.defines), f"{step.defines} is empty after:\n{said}"


def test_the_walkthrough_is_there_and_every_line_after_the_first_block_names_its_person() -> None:
    """A reader who skips the `export CASEWORK_PROFILE` line loses only the line after it: every
    command on a case names its person (issue 26: 21 of 29 said "no credential" without it)."""
    assert len(STEPS) >= 25, f"the walk-through's commands were not found: {STEPS}"
    assert any(s.line.startswith("export CASEWORK_PROFILE=") for s in STEPS)
    first_open = next(s.number for s in STEPS if " open " in f" {s.line} ")
    unnamed = [
        s.line
        for s in STEPS[first_open - 1 :]
        if "casework" in s.line and "--profile" not in s.line
    ]
    assert not unnamed, f"commands that rely on CASEWORK_PROFILE: {unnamed}"
    assert any(s.exit_code != 0 for s in STEPS), "the deliberate refusals are labelled"


def test_the_reader_of_the_walkthrough_reads_lines_as_written() -> None:
    steps = walkthrough(
        "## A ten-minute walk-through\n```bash\n# a comment\n"
        'casework show 1   # refused on purpose (exit 1): "not yours"\n'
        'X=$(casework whoami | python -c "print(1)")\n'
        "casework list \\\n  --breached\n```\n## Next\n```bash\nnot this\n```\n"
    )
    assert [(s.line, s.exit_code, s.says, s.defines) for s in steps] == [
        ('casework show 1   # refused on purpose (exit 1): "not yours"', 1, "not yours", None),
        ('X=$(casework whoami | python -c "print(1)")', 0, None, "X"),
        ("casework list    --breached", 0, None, None),
    ]
    assert escalation_of("casework --profile cc-dana escalate 1 --reason 'x # y'") == (
        "cc-dana",
        "1",
    )
    assert escalation_of("casework --profile cc-dana escalate-now 3 --reason x") is None

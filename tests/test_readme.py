"""The README's Quick start is the whole way in, and CI runs exactly it."""

from __future__ import annotations

import re
import shlex
import subprocess
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def quick_start() -> list[str]:
    """The lines of the README's marked Quick start block."""
    match = re.search(
        r"^<!-- quickstart.*?-->\n```bash\n(.*?)^```\n<!-- /quickstart -->$", README, re.S | re.M
    )
    assert match, "README.md has no marked Quick start block"
    return match.group(1).splitlines()


def test_quick_start_is_a_venv_one_install_an_ask_and_one_test_command() -> None:
    commands = [shlex.split(line, comments=True) for line in quick_start()]
    assert commands[0] == ["python3", "-m", "venv", ".venv"]
    assert commands[1] == ["source", ".venv/bin/activate"]
    assert commands[2] == ["pip", "install", "-e", ".[dev]"]
    assert commands[3][:2] == ["tupoksi", "ask"] and len(commands[3]) == 3
    assert commands[4] == ["python", "-m", "pytest", "-q"]
    assert len(commands) == 5


def test_ci_runs_the_quick_start_block_verbatim() -> None:
    printed = subprocess.run(
        ["bash", str(REPO / ".ci" / "run"), "--print-quickstart"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
    ).stdout
    assert printed.splitlines() == quick_start()
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert 'eval "$quickstart"' in script
    # It installs and tests only the README's way: no command line of its own runs pip or pytest.
    assert not re.search(r"^\s*(python3? -m )?(pip|pytest)\b", script, re.M)


def test_the_install_command_brings_every_promised_feature() -> None:
    """Only test and lint tools are extras; the README says why each dependency is there."""
    assert set(PYPROJECT["project"]["optional-dependencies"]) == {"dev"}
    main = [re.split(r"[\[<>=]", d)[0] for d in PYPROJECT["project"]["dependencies"]]
    dev = [re.split(r"[\[<>=]", d)[0] for d in PYPROJECT["project"]["optional-dependencies"]["dev"]]
    assert "matplotlib" in main  # the /stats chart
    assert set(dev) == {
        "pytest",
        "pytest-asyncio",
        "hypothesis",
        "ruff",
        "import-linter",
        "mypy",
        "types-PyYAML",
    }
    table = README.split("## Dependencies and why", 1)[1].lower()
    for name in main + dev:
        assert f"| {name.lower()}" in table or f", {name.lower()}" in table, name


def test_the_admin_pictures_are_in_the_readme_and_the_repository() -> None:
    text = README
    assert "python -m bench.admin_pictures" in text
    for name in ("stats.png", "coverage.png"):
        assert f"](docs/img/{name})" in text
        assert (REPO / "docs" / "img" / name).read_bytes().startswith(b"\x89PNG")

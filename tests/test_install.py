"""A non-editable install works anywhere: the knowledge base ships inside the package.

``pip install <checkout>`` (not ``-e``), as the systemd unit and the Dockerfile do, into a
fresh virtualenv in a temporary folder; then, from a folder that is not the checkout and
without KB_DIR, the installed ``tupoksi`` answers a question and validates its knowledge base.
The install takes 30-60 s (dependencies come from pip's cache or the index); it runs in the
normal test command on purpose: this is the path every deployment takes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import bot

pytestmark = pytest.mark.install

REPO = Path(__file__).resolve().parent.parent
INSTALL_TIMEOUT = 900
# Variables that could point the installed bot back at the checkout.
_LEAKS = ("KB_DIR", "DATABASE_PATH", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSAFEPATH")


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> str:
    run = subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0, f"{argv} exited {run.returncode}:\n{run.stdout[-2000:]}\n{run.stderr[-4000:]}"
    return run.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """(the venv, a working folder outside the checkout, the environment) after ``pip install <checkout>``."""
    base = tmp_path_factory.mktemp("install")
    assert not base.resolve().is_relative_to(REPO)
    venv = base / "venv"
    env = {key: value for key, value in os.environ.items() if key not in _LEAKS}
    _run([sys.executable, "-m", "venv", str(venv)], base, env)
    python = venv / "bin" / "python"
    _run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(REPO)],
        base,
        env,
        timeout=INSTALL_TIMEOUT,
    )
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    return venv, elsewhere, env


def test_the_installed_package_is_not_the_checkout(installed: tuple[Path, Path, dict[str, str]]) -> None:
    venv, cwd, env = installed
    out = _run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import bot, matplotlib; print(bot.__file__); print(bot.__version__)",
        ],
        cwd,
        env,
    )
    location, version = out.splitlines()
    assert Path(location).is_relative_to(venv) and "site-packages" in location
    assert version == bot.__version__
    assert _run([str(venv / "bin" / "tupoksi"), "--version"], cwd, env) == f"tupoksi {bot.__version__}\n"


def test_the_installed_package_carries_every_file_of_the_knowledge_base(
    installed: tuple[Path, Path, dict[str, str]],
) -> None:
    venv, _, _ = installed
    (packaged,) = venv.glob("lib/python3*/site-packages/bot/_kbdata")

    def files(root: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(root)): p.read_bytes()
            for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }

    assert files(packaged) == files(REPO / "knowledge")


def test_the_installed_tupoksi_answers_from_another_folder(
    installed: tuple[Path, Path, dict[str, str]],
) -> None:
    venv, cwd, env = installed
    out = _run([str(venv / "bin" / "tupoksi"), "ask", "siapa yang mengurus kenaikan pangkat PNS?"], cwd, env)
    assert "Divisi Sumber Daya Manusia dan Litbang" in out
    assert "Sub Bagian Sumber Daya Manusia" in out and "Tugas #12" in out


def test_the_installed_tupoksi_checks_its_packaged_kb(installed: tuple[Path, Path, dict[str, str]]) -> None:
    venv, cwd, env = installed
    out = _run([str(venv / "bin" / "tupoksi"), "check-kb"], cwd, env)
    assert out.startswith("OK: ") and "17 units, 148 duties" in out
    checked = Path(out[len("OK: ") :].split(": ")[0])
    assert checked.is_relative_to(venv) and checked.parts[-2:] == ("bot", "_kbdata")

"""The deployment files work as written: the systemd unit and the Dockerfile, with .env.example.

There is no systemd and no Docker engine here, so each test reads the file, builds the
process exactly as systemd or ``docker run --env-file`` would (the same command line, the
same environment with the same precedence, the same working directory), runs it under a
temporary root directory standing in for ``/``, and checks where the database goes and which
knowledge base is loaded. The env file is a copy of .env.example with only the token (and,
to reach the local fake Bot API instead of Telegram, TELEGRAM_API_BASE_URL) filled in.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import ExitCode, parse_dotenv
from bot.knowledge.loader import DEFAULT_KB_DIR
from tests.support.fake_bot_api import FakeBotApi

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "deploy" / "tupoksi.service"
DOCKERFILE = REPO / "Dockerfile"
ENV_EXAMPLE = REPO / ".env.example"
TOKEN = "123456:AAdeployFakeTokenXyz0123456789abcd"
QUESTION = "siapa yang mengurus kenaikan pangkat PNS?"
TIMEOUT = 30.0


# -- reading the files the way systemd and docker do -----------------------------------------


def unit_settings(text: str) -> dict[str, list[str]]:
    """``Key=value`` lines of the [Service] section, every value of a repeated key in order."""
    section, found = "", {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def systemd_environment_file(text: str) -> dict[str, str]:
    """systemd's EnvironmentFile= reading: KEY=VALUE, ``#``/``;`` comments, quotes removed."""
    values = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, _, value = line.partition("=")
        (value,) = shlex.split(value) or [""]
        values[key.strip()] = value
    return values


def docker_env_file(text: str) -> dict[str, str]:
    """``docker run --env-file`` reading: KEY=VALUE taken literally (no quotes, no inline comments)."""
    values = {}
    for raw in text.splitlines():
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{line!r}: without '=', docker would copy the variable from the host"
        values[key] = value
    return values


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined."""
    instructions = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            instruction, _, arguments = line.strip().partition(" ")
            instructions.append((instruction.upper(), arguments.strip()))
    return instructions


def filled_env_example(api: FakeBotApi) -> str:
    """.env.example as an admin fills it in: the token, here also the local Bot API."""
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    text, tokens = re.subn(r"(?m)^TELEGRAM_BOT_TOKEN=$", f"TELEGRAM_BOT_TOKEN={TOKEN}", text)
    text, urls = re.subn(r"(?m)^TELEGRAM_API_BASE_URL=$", f"TELEGRAM_API_BASE_URL={api.base_url}", text)
    assert tokens == urls == 1
    return text


# -- a temporary root standing in for / ------------------------------------------------------


@dataclass
class Root:
    path: Path

    def __call__(self, absolute: str) -> Path:
        """Where ``absolute`` (a path of the deployed machine) is under this root."""
        assert absolute.startswith("/"), absolute
        return self.path / absolute.lstrip("/")

    def rebase(self, value: str) -> str:
        return str(self(value)) if value.startswith("/") else value

    def install_kb(self, absolute: str, version: str) -> None:
        """A copy of the real knowledge base at ``absolute``, marked with its own version."""
        target = self(absolute)
        shutil.copytree(DEFAULT_KB_DIR, target)
        kb_yaml = target / "kb.yaml"
        text = kb_yaml.read_text(encoding="utf-8")
        kb_yaml.write_text(
            re.sub(r"(?m)^kb_version: .*$", f'kb_version: "{version}"', text), encoding="utf-8"
        )

    def install_tupoksi(self, absolute: str) -> None:
        """``absolute`` runs this test run's own ``tupoksi`` (the README's install made it)."""
        installed = Path(sys.executable).parent / "tupoksi"
        if not installed.is_file():
            pytest.fail(f"{installed} is missing: install the project first (see the README's Quick start)")
        target = self(absolute)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(installed)


def base_environment() -> dict[str, str]:
    """What a service starts with: no variable of the developer's shell, no proxy."""
    return {"PATH": os.defpath, "LANG": "C.UTF-8", "NO_PROXY": "127.0.0.1,localhost"}


def serve_one_question(api: FakeBotApi, argv: list[str], cwd: Path, env: Mapping[str, str]) -> str:
    """Start the bot, let it answer one question, stop it with SIGTERM; its stderr."""
    proc = subprocess.Popen(
        argv, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while not api.polling:
            if proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if proc.poll() is None and api.polling:
            api.send_private_text(5001, QUESTION)
            api.wait_for(lambda c: c.method == "sendMessage" and c.params.get("chat_id") == 5001, TIMEOUT)
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    stderr = err.decode("utf-8", "replace")
    assert proc.returncode == 0, stderr[-3000:]
    return stderr


def logged_questions(database: Path) -> list[str]:
    assert database.is_file(), f"no database at {database}"
    with sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True) as db:
        return [row[0] for row in db.execute("SELECT text FROM queries")]


# -- the env file is read alike by the bot, systemd and docker --------------------------------


def test_env_example_reads_the_same_for_the_bot_systemd_and_docker() -> None:
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        if line and not line.startswith("#"):
            assert re.fullmatch(r"[A-Z_]+=[^\s\"'#]*", line), f".env.example:{number}: {line!r}"
    assert parse_dotenv(text) == systemd_environment_file(text) == docker_env_file(text)


def test_env_example_leaves_alone_what_the_unit_and_the_image_set() -> None:
    """An env file overrides the unit's Environment= and the image's ENV, even with an empty value."""
    listed = set(parse_dotenv(ENV_EXAMPLE.read_text(encoding="utf-8")))
    unit_keys = {
        assignment.partition("=")[0]
        for line in unit_settings(UNIT.read_text(encoding="utf-8"))["Environment"]
        for assignment in shlex.split(line)
    }
    image_keys = {
        assignment.partition("=")[0]
        for instruction, args in dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8"))
        if instruction == "ENV"
        for assignment in shlex.split(args)
    }
    assert {"DATABASE_PATH", "KB_DIR"} <= unit_keys & image_keys
    assert not listed & (unit_keys | image_keys)


# -- systemd --------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_systemd_unit_with_env_example_keeps_the_database_where_the_unit_says(tmp_path: Path) -> None:
    unit = unit_settings(UNIT.read_text(encoding="utf-8"))
    root = Root(tmp_path / "root")
    (environment_file,) = unit["EnvironmentFile"]
    (working_directory,) = unit["WorkingDirectory"]
    (exec_start,) = unit["ExecStart"]
    (state_directory,) = unit["StateDirectory"]
    declared = dict(a.partition("=")[::2] for line in unit["Environment"] for a in shlex.split(line))
    root(working_directory).mkdir(parents=True)
    root("/var/lib").joinpath(state_directory).mkdir(parents=True)  # systemd creates it
    root.install_kb(declared["KB_DIR"], "unit-kb")
    argv = shlex.split(exec_start)
    root.install_tupoksi(argv[0])

    with FakeBotApi(TOKEN) as api:
        root(environment_file).parent.mkdir(parents=True)
        root(environment_file).write_text(filled_env_example(api), encoding="utf-8")
        # systemd: Environment= first, then EnvironmentFile=, which overrides it.
        env = base_environment()
        env.update({key: root.rebase(value) for key, value in declared.items()})
        env.update(systemd_environment_file(root(environment_file).read_text(encoding="utf-8")))
        stderr = serve_one_question(api, [root.rebase(argv[0]), *argv[1:]], root(working_directory), env)

    database = root(declared["DATABASE_PATH"])
    assert declared["DATABASE_PATH"] == f"/var/lib/{state_directory}/tupoksi.sqlite3"
    assert logged_questions(database) == [QUESTION]
    assert not list(root(working_directory).rglob("*.sqlite3*"))  # nothing in the read-only /opt
    assert "KB unit-kb " in stderr  # the unit's KB_DIR, not the default
    assert TOKEN.partition(":")[2] not in stderr


def test_systemd_unit_does_not_restart_what_a_restart_cannot_fix() -> None:
    unit = unit_settings(UNIT.read_text(encoding="utf-8"))
    assert unit["Restart"] == ["on-failure"]
    (codes,) = unit["RestartPreventExitStatus"]
    assert {int(code) for code in codes.split()} == {
        ExitCode.CONFIG,
        ExitCode.KB,
        ExitCode.TOKEN_REJECTED,
        ExitCode.DATABASE,
    }
    assert unit["KillSignal"] == ["SIGTERM"]


# -- Docker ---------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_docker_image_with_env_example_keeps_the_database_in_the_volume(tmp_path: Path) -> None:
    instructions = dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8"))
    workdir = next(args for instruction, args in instructions if instruction == "WORKDIR")
    image_env = {
        key: value
        for instruction, args in instructions
        if instruction == "ENV"
        for key, _, value in (a.partition("=") for a in shlex.split(args))
    }
    (volume,) = json.loads(next(args for instruction, args in instructions if instruction == "VOLUME"))
    cmd = json.loads(next(args for instruction, args in instructions if instruction == "CMD"))
    root = Root(tmp_path / "root")
    root(workdir).mkdir(parents=True)
    root(volume).mkdir(parents=True)
    root.install_kb(image_env["KB_DIR"], "image-kb")
    root.install_tupoksi(f"/usr/local/bin/{cmd[0]}")  # where the image's pip puts it

    with FakeBotApi(TOKEN) as api:
        env_file = tmp_path / ".env"
        env_file.write_text(filled_env_example(api), encoding="utf-8")
        # docker run: the image's ENV, then --env-file, which overrides it.
        env = base_environment()
        env["PATH"] = f"{root('/usr/local/bin')}{os.pathsep}{env['PATH']}"
        env.update({key: root.rebase(value) for key, value in image_env.items()})
        env.update(docker_env_file(env_file.read_text(encoding="utf-8")))
        executable = shutil.which(cmd[0], path=env["PATH"])
        assert executable is not None
        stderr = serve_one_question(api, [executable, *cmd[1:]], root(workdir), env)

    assert image_env["DATABASE_PATH"].startswith(volume + "/")
    assert logged_questions(root(image_env["DATABASE_PATH"])) == [QUESTION]
    assert not list(root(workdir).rglob("*.sqlite3*"))  # not in the image's own layer
    assert "KB image-kb " in stderr
    assert TOKEN.partition(":")[2] not in stderr

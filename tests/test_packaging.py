"""The INSTALLED package, not the source tree, has its templates, static files and models (issue 18): a wheel
built from the repository's files, installed (not editable) into a fresh venv, run from a folder outside the
repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from conftest import REPO
from test_clone import tracked_files

pytestmark = pytest.mark.slow  # a wheel build and a venv: about half a minute

DATA_FOLDERS = ["rag/models", "rag/web/templates", "rag/web/static"]
READER = {"rag/models/reader/reader.onnx": b"stand-in graph", "rag/models/reader/reader.json": b"{}"}


def run(*args, cwd, env=None, timeout=180):
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv python, source copy): the wheel of a copy of the repository's files, plus stand-in reader model
    files (rag/models/reader/ lands with the reader), installed into a fresh venv that sees the project venv's
    dependencies through a .pth file, not the project itself."""
    root = tmp_path_factory.mktemp("packaging")
    source = root / "source"
    for name in tracked_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / name, source / name)
    for name, content in READER.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(content)
    built = run(sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation", "--no-index",
                "-w", str(root / "dist"), str(source), cwd=root)
    assert "absent from the `packages` configuration" not in built.stdout + built.stderr
    (wheel,) = (root / "dist").glob("rag_news_qa-*.whl")

    venv = root / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", str(venv), cwd=root)
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel),
        cwd=root)
    purelib = Path(run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                       cwd=root).stdout.strip())
    (purelib / "project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return python, source, root / "elsewhere"


def venv_env():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["HF_HUB_OFFLINE"] = "1"
    return env


def test_the_installed_package_has_its_templates_static_files_and_models(installed):
    python, source, elsewhere = installed
    elsewhere.mkdir(exist_ok=True)
    script = (
        "import json, pathlib, rag, rag.web.markup as m\n"
        "root = pathlib.Path(rag.__file__).parent\n"
        "files = sorted(str(p.relative_to(root.parent)) for p in root.rglob('*') if p.is_file()"
        " and '__pycache__' not in p.parts)\n"
        "templates = sorted(m.environment().list_templates())\n"
        "for name in templates: m.environment().get_template(name)\n"
        "print(json.dumps({'rag': str(root), 'files': files, 'templates': templates}))\n"
    )
    found = json.loads(run(str(python), "-c", script, cwd=elsewhere, env=venv_env()).stdout)
    assert Path(found["rag"]).is_relative_to(python.parent.parent), "rag imported from outside the venv"
    expected = {
        str(p.relative_to(source)) for folder in DATA_FOLDERS for p in (source / folder).rglob("*")
        if p.is_file() and not p.name.endswith(".py") and "__pycache__" not in p.parts
    }
    assert set(READER) <= expected
    assert expected <= set(found["files"]), sorted(expected - set(found["files"]))
    assert found["templates"] == sorted(p.name for p in (source / "rag/web/templates").glob("*.html"))
    assert not any(name.startswith(("tests/", "data/", "seeds/")) for name in found["files"])


def test_the_installed_command_line_runs_from_elsewhere(installed):
    python, _source, elsewhere = installed
    elsewhere.mkdir(exist_ok=True)
    result = run(str(python), "-m", "rag", "--help", cwd=elsewhere, env=venv_env())
    assert "usage: python -m rag" in result.stdout and "search" in result.stdout

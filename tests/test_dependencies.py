"""What the code imports is declared, what is declared is used, and `make` installs the exact
versions of requirements.lock."""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = [Requirement(r) for r in PROJECT["dependencies"]]
TEST = [Requirement(r) for r in PROJECT["optional-dependencies"]["test"]]
OURS = {"portal", "tests", "bench", "piccolo_conf", "migrations"}
# Declared, never imported by name, and why.
USED_WITHOUT_IMPORT = {
    "httptools": "uvicorn's C HTTP parser, picked up when installed",
    "uvloop": "uvicorn's event loop, picked up when installed",
}


def _imports(folder: str) -> set[str]:
    found = set()
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return {name for name in found if name not in sys.stdlib_module_names and name not in OURS}


def _distributions(modules: set[str]) -> dict[str, str]:
    """module -> the distribution that provides it (canonical name)."""
    provided = metadata.packages_distributions()
    return {module: canonicalize_name(provided[module][0]) for module in modules if module in provided}


def _names(requirements: list[Requirement]) -> set[str]:
    return {canonicalize_name(r.name) for r in requirements}


def test_every_module_the_portal_imports_is_a_declared_dependency():
    modules = _imports("portal")
    by_module = _distributions(modules)
    assert set(by_module) == modules, f"imported, but installed by nothing: {sorted(modules - set(by_module))}"
    undeclared = {m: d for m, d in by_module.items() if d not in _names(RUNTIME)}
    assert not undeclared, f"imported by portal/ but not in [project].dependencies: {undeclared}"


def test_every_module_the_tests_import_is_declared():
    undeclared = {m: d for m, d in _distributions(_imports("tests")).items() if d not in _names(RUNTIME + TEST)}
    assert not undeclared, f"imported by tests/ but not declared (dependencies or the test extra): {undeclared}"


def test_every_declared_dependency_is_used():
    imported = set(_distributions(_imports("portal")).values())
    unused = _names(RUNTIME) - imported - set(USED_WITHOUT_IMPORT)
    assert not unused, f"declared in [project].dependencies, never imported by portal/: {sorted(unused)}"
    test_imported = set(_distributions(_imports("tests")).values())
    run_not_imported = {
        "pytest-asyncio": "a pytest plugin", "httpx": "the test client's transport",
        "ruff": "make check runs it", "import-linter": "make check runs lint-imports",
        "mypy": "make check runs tools/typecheck.py",
    }
    unused_test = _names(TEST) - test_imported - set(run_not_imported)
    assert not unused_test, f"declared in the test extra, never imported by tests/: {sorted(unused_test)}"


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"requirements.lock: {line!r} is not pinned with =="
            pins[canonicalize_name(name)] = version.strip()
    return pins


def test_the_lock_pins_every_declared_dependency_within_its_range():
    pins = _lock()
    for requirement in RUNTIME + TEST:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is declared but not in requirements.lock (run make lock)"
        assert requirement.specifier.contains(pins[name], prereleases=True), \
            f"requirements.lock pins {name}=={pins[name]}, outside {requirement.specifier} (run make lock)"


def test_what_is_installed_is_what_the_lock_says():
    drift = {}
    for name, version in _lock().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            drift[name] = (version, installed)
    assert not drift, f"installed versions differ from requirements.lock (make installs from it): {drift}"

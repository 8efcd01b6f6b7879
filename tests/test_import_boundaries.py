"""Dependencies run one way (DESIGN.md): kitchen_display -> fulfilment -> stores, fulfilment -> core_native,
and core_native knows nothing of Django. fulfilment tells the screens about changes through the outbox, never
by importing kitchen_display; stores knows nothing of orders.

Every module's imports are read from its source (function-level imports included, since those are how a
cycle usually sneaks in), and core_native is also imported for real in a fresh interpreter, which must not
load Django or any app.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("orderahead", "stores", "fulfilment", "kitchen_display")
FORBIDDEN = {
    "core_native": ("django", "rest_framework", "channels", "daphne", *APPS),
    "stores": ("fulfilment", "kitchen_display"),
    "fulfilment": ("kitchen_display",),
}


def _modules(package: str):
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path


def _imported_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _breaks(name: str, forbidden: tuple[str, ...]) -> bool:
    return any(name == top or name.startswith(top + ".") for top in forbidden)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_module_imports_against_the_flow(package):
    wrong = [f"{path.relative_to(ROOT)} imports {name}"
             for path in _modules(package)
             for name in sorted(_imported_names(path)) if _breaks(name, FORBIDDEN[package])]

    assert wrong == []


def test_the_check_sees_a_forbidden_import_inside_a_function(tmp_path):
    module = tmp_path / "late.py"
    module.write_text("def notify():\n    from kitchen_display import relay\n    return relay\n")

    assert any(_breaks(name, FORBIDDEN["fulfilment"]) for name in _imported_names(module))


def test_core_native_imports_without_django():
    public = [".".join(path.relative_to(ROOT).with_suffix("").parts) for path in _modules("core_native")
              if path.stem not in ("__init__", "__main__") and not path.stem.startswith("_")]
    probe = (f"import sys; import {', '.join(['core_native', *public])}; "
             "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'django', 'rest_framework', 'channels', "
             f"{', '.join(repr(app) for app in APPS)}}}); print(','.join(loaded))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "NUMBA_DISABLE_JIT": "1"})

    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == ""


@pytest.mark.parametrize("package", ["stores", "fulfilment"])
def test_no_template_loads_a_later_apps_static_files(package):
    """A page of fulfilment loading kitchen_display's script is the same dependency as an import."""
    wrong = [f"{path.relative_to(ROOT)} loads {app}'s static files"
             for path in sorted((ROOT / package).rglob("*.html"))
             for app in FORBIDDEN[package] if f"'{app}/" in path.read_text() or f'"{app}/' in path.read_text()]

    assert wrong == []


def _project_modules_imported_by_apps() -> set[str]:
    return {name for package in ("stores", "fulfilment", "kitchen_display") for path in _modules(package)
            for name in _imported_names(path) if name.startswith("orderahead.")}


def _reached_project_modules(start: set[str]) -> dict[str, set[str]]:
    """Each project module reachable from `start` through project imports, with what it imports."""
    reached, todo = {}, sorted(start)
    while todo:
        name = todo.pop()
        path = ROOT / (name.replace(".", "/") + ".py")
        if name in reached or not path.exists():
            continue
        reached[name] = _imported_names(path)
        todo += [imported for imported in reached[name] if imported.startswith("orderahead.")]
    return reached


def test_the_project_modules_apps_import_reach_no_app():
    shared = _reached_project_modules(_project_modules_imported_by_apps())
    wrong = [f"{module} imports {name}" for module, names in sorted(shared.items()) for name in sorted(names)
             if _breaks(name, ("stores", "fulfilment", "kitchen_display", "orderahead.settings",
                               "orderahead.urls", "orderahead.asgi"))]

    assert "orderahead.errors" in shared  # DomainError: the error every app raises
    assert wrong == []

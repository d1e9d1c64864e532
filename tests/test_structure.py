"""The structure the code keeps: the environments know nothing of the controllers, ``bilateral`` has no
import cycle, and the old package name still works for one release."""

import ast
import subprocess
import sys
import warnings
from pathlib import Path


def imported_by(statement: str) -> set[str]:
    """The top-level packages a fresh interpreter has imported after ``statement``."""
    code = f"import sys; {statement}; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_the_environments_know_nothing_of_the_controllers():
    assert "bilateral" not in imported_by("import bilateral_envs")


def test_the_old_package_name_warns_and_is_the_same_package():
    import bilateral_envs

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sys.modules.pop("envs", None)
        from envs.tasks import RandomReach

        import envs
    assert any(issubclass(w.category, DeprecationWarning) and "bilateral_envs" in str(w.message) for w in caught)
    assert envs is bilateral_envs and RandomReach is bilateral_envs.RandomReach


BILATERAL = Path(__file__).resolve().parent.parent / "bilateral"


def module_imports() -> dict[str, set[str]]:
    """Every module of ``bilateral`` and the ``bilateral`` modules it imports, at the top or inside
    functions (explicit imports; a package's own ``__init__`` is not counted for its children)."""
    modules = {}
    for path in BILATERAL.rglob("*.py"):
        parts = path.relative_to(BILATERAL.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # ``from package import module`` imports that module; ``from module import name``, the module
                targets = [
                    f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module
                    for alias in node.names
                ]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    found.add(target)
        graph[name] = found
    return graph


def test_no_import_cycle_in_bilateral():
    graph = module_imports()
    assert {"bilateral.cli", "bilateral.report.figures", "bilateral.methods.rl.training"} <= set(graph)
    cycles, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_command_line_and_the_settings_import_neither_torch_nor_pandas():
    loaded = imported_by(
        "import bilateral.cli, bilateral.methods.distal, bilateral.methods.rl, bilateral.grid.settings"
    )
    assert not {"torch", "pandas", "stable_baselines3"} & loaded

"""The structure the code keeps: the environments know nothing of the controllers, ``bilateral`` has no
import cycle, and the old package name still works for one release."""

import subprocess
import sys
import warnings


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

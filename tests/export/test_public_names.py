"""`tokenmix.deploy` stays the function after something imports the submodule of the same name (the export
command does): found when tests/test_export.py ran after an export in the same process."""

from __future__ import annotations

import subprocess
import sys

from ..train.util import env


def test_deploy_is_the_function_after_importing_its_module() -> None:
    code = "import tokenmix.deploy, tokenmix; assert callable(tokenmix.deploy), tokenmix.deploy"
    done = subprocess.run([sys.executable, "-c", code], env=env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr

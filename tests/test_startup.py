"""Start-up stays cheap: `tokenmix --help`, every subcommand's `--help` and `tokenmix list` import no torch, and
building a model imports neither timm nor what timm drags in (torchvision, torch._dynamo). Checked in fresh
processes, through sys.modules: what a process imported is a fact, its timing is noise (bench/startup.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tokenmix
from tokenmix.cli import COMMANDS

SRC = Path(__file__).resolve().parents[1] / "src"
HEAVY = ("torch", "timm", "torchvision", "torch._dynamo", "numpy")


def imported_after(code: str) -> tuple[set[str], str]:
    """The HEAVY modules a fresh interpreter holds after running `code`, and what it printed."""
    probe = f"import json, sys\n{code}\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    *printed, last = done.stdout.strip().splitlines()
    return set(json.loads(last)), "\n".join(printed)


def cli(*argv: str) -> str:
    """Run the console entry point as `tokenmix *argv` would, keeping the process alive after --help's exit."""
    return f"from tokenmix.cli import main\ntry:\n    main({list(argv)!r})\nexcept SystemExit:\n    pass"


@pytest.mark.parametrize("argv", [["--help"], *[[name, "--help"] for name in COMMANDS]], ids=" ".join)
def test_help_imports_no_torch(argv: list[str]) -> None:
    modules, printed = imported_after(cli(*argv))
    assert not modules, f"tokenmix {' '.join(argv)} imported {sorted(modules)}"
    assert "usage: tokenmix" in printed


def test_list_reads_the_stored_table_without_torch() -> None:
    modules, printed = imported_after(cli("list", "resmlp_*_224"))
    assert not modules & {"torch", "timm"}
    assert printed.splitlines()[1].split() == ["resmlp_12_224", "resmlp", "15.35", "3.01", "224", "76.6"]


def test_building_and_running_a_model_imports_no_timm_torchvision_or_dynamo() -> None:
    code = (
        "import torch, tokenmix\n"
        "model = tokenmix.create_model('poolformer_s12', num_classes=10, drop_path_rate=0.1, init='timm_mixer')\n"
        "print(model(torch.randn(2, 3, 64, 64)).shape)"
    )
    modules, printed = imported_after(code)
    assert "torch" in modules and not modules & {"timm", "torchvision", "torch._dynamo"}, sorted(modules)
    assert printed == "torch.Size([2, 10])"


def test_import_tokenmix_alone_imports_no_torch() -> None:
    modules, _ = imported_after("import tokenmix")
    assert not modules & {"torch", "timm"}


def test_version_prints_the_package_version(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        tokenmix.cli.main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"tokenmix {tokenmix.__version__}"


def test_lazy_public_names_are_the_modules_own() -> None:
    from tokenmix import factory, metaformer

    assert tokenmix.create_model is factory.create_model and tokenmix.MetaFormer is metaformer.MetaFormer
    assert set(tokenmix.__all__) == set(tokenmix._PUBLIC) and all(hasattr(tokenmix, n) for n in tokenmix.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        tokenmix.nope  # noqa: B018


def test_export_command_offers_the_formats_the_exporter_writes() -> None:
    from tokenmix.commands.export import FORMATS
    from tokenmix.export.formats import FORMATS as WRITTEN

    assert FORMATS == WRITTEN


def test_registries_fill_themselves_when_read_without_importing_the_package_api() -> None:
    from tokenmix.factory import MODELS
    from tokenmix.registry import MIXERS

    _, printed = imported_after(
        "from tokenmix.registry import MIXERS\nfrom tokenmix.factory import MODELS\nprint(list(MIXERS), list(MODELS))"
    )
    assert printed == f"{list(MIXERS)} {list(MODELS)}" and len(MODELS) > 90

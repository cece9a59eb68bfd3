"""The `tokenmix` command: parse, call the library, print. Each subcommand lives in tokenmix/commands/<name>.py
with `add_arguments(parser)` and `run(args) -> int`; this file only dispatches.

A mistake of the user (unknown model, bad value, unreadable file) is one line on stderr and exit code 2;
`--debug` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module under tokenmix.commands, one-line help). Modules are imported only when their command runs,
# so `tokenmix list` does not pay for what `tokenmix train` needs.
COMMANDS = {
    "list": ("list_models", "list the registered models with parameters, MACs and paper top-1"),
    "info": ("info", "print a model's structure, per-stage shapes, parameters and MACs"),
    "predict": ("predict", "top-5 classes for image files"),
    "train": ("train", "train a model (default: a small ConvMixer on the bundled digits, seconds on a CPU)"),
    "eval": ("eval", "top-1/top-5/loss, per-class accuracy and a confusion matrix of a checkpoint"),
    "bench": ("bench", "speed, MACs and memory, optionally against timm's model with the same weights"),
    "export": ("export", "export to ONNX, TorchScript or an ExportedProgram, with a parity check"),
    "viz": ("viz", "PNGs of a checkpoint's token-mixing weights and its effective receptive field"),
    "ablate": ("ablate", "train a grid of token mixers x seeds on one skeleton and report what beats the seed noise"),
}

USER_ERRORS = (
    ValueError,
    KeyError,
    FileNotFoundError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, object]]:
    parser = argparse.ArgumentParser(prog="tokenmix", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = {}
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(f"tokenmix.commands.{module_name}")
        module.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
        modules[name] = module
    return parser, modules


def main(argv: list[str] | None = None) -> int:
    parser, modules = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(modules[args.command].run(args) or 0)
    except USER_ERRORS as e:
        if args.debug:
            raise
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"tokenmix {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tokenmix {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""The `tokenmix` command: parse, call the library, print. Each subcommand lives in tokenmix/commands/<name>.py
with `add_arguments(parser)` and `run(args) -> int`; this file only dispatches. A command module imports torch
and the library inside `run()`, not at its top, so that `--help` answers at once.

A mistake of the user (unknown model, bad value, unreadable file) is one line on stderr and exit code 2;
`--debug` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from types import ModuleType

from . import __version__

# name -> (module under tokenmix.commands, one-line help). Only the module of the command given on the command
# line is imported (for its arguments, then its run()); `tokenmix --help` imports none of them.
COMMANDS = {
    "list": ("list_models", "list the registered models with parameters, MACs and paper top-1"),
    "info": ("info", "print a model's structure, per-stage shapes, parameters and MACs"),
    "predict": ("predict", "top-5 classes for image files"),
    "train": ("train", "train a model (default: a small ConvMixer on the bundled digits, seconds on a CPU)"),
    "eval": ("eval", "top-1/top-5/loss, per-class accuracy and a confusion matrix of a checkpoint"),
    "bench": ("bench", "speed, MACs and memory, optionally against timm's model with the same weights"),
    "export": ("export", "export to ONNX, TorchScript or an ExportedProgram, with a parity check"),
    "convert": ("convert", "a checkpoint between tokenmix, timm and official key layouts, to safetensors or a folder"),
    "train-lm": ("train_lm", "train a gMLP, aMLP or Transformer language model (masked or causal) on a text file"),
    "fill-mask": ("fill_mask", "top-k predictions for each [MASK] in a sentence, from a masked-LM run"),
    "generate": ("generate", "sample text from a causal-LM run (temperature, top-k)"),
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


def command_module(name: str) -> ModuleType:
    return importlib.import_module(f"tokenmix.commands.{COMMANDS[name][0]}")


def named_command(argv: list[str]) -> str | None:
    """The subcommand in argv: its first word that is not an option (the top-level options take no value)."""
    return next((word for word in argv if not word.startswith("-")), None)


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    """Every command with its help line; the arguments only of the command named in argv."""
    parser = argparse.ArgumentParser(prog="tokenmix", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = named_command(argv)
    for name, (_, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            command_module(name).add_arguments(command_parser)
    return parser


def say_library_notes() -> None:
    """The library's notes (e.g. which weights of a checkpoint were loaded) as plain lines on stderr."""
    log = logging.getLogger("tokenmix")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("tokenmix: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


def let_idle_threads_sleep() -> None:
    """OpenMP's idle threads sleep at once instead of spinning, unless the user chose (OMP_WAIT_POLICY). With
    other jobs on the cores, spinning threads steal them from the threads doing the work: two threads ran a
    training step 16x slower than one beside two busy processes, and passive ones as fast as one
    (bench/threads.py, README "Threads"). libgomp reads the variable when torch loads it, so this runs before
    any command imports torch."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main(argv: list[str] | None = None) -> int:
    let_idle_threads_sleep()
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    say_library_notes()
    try:
        return int(command_module(args.command).run(args) or 0)
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

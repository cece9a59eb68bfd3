"""SIGINT (Ctrl-C) and SIGTERM (torchrun, Slurm, Kubernetes) as a request to stop: the loop finishes the
step it is in, writes a checkpoint and exits 128 + the signal number. A second signal ends the process at once
with the signal's default action (checkpoints are written atomically, so that is safe at any moment)."""

from __future__ import annotations

import os
import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """The run stopped on a signal after writing a checkpoint."""

    def __init__(
        self, signum: int, step: int, checkpoint: object, run_dir: object, is_main: bool, command: str = "train"
    ) -> None:
        self.signum, self.step, self.checkpoint, self.is_main = signum, step, checkpoint, is_main
        super().__init__(
            f"{signal.Signals(signum).name} received: stopped after step {step}; checkpoint in {checkpoint}; "
            f"continue with: tokenmix {command} --output {run_dir} --resume auto"
            + (" (and the run's other options)" if command != "train" else "")
        )

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class StopRequest:
    """While entered, SIGINT and SIGTERM set `signum` instead of ending the process (main thread only)."""

    def __init__(self, command: str = "train") -> None:
        self.command = command  # the subcommand named in the message
        self.signum = 0  # 0: no stop requested
        self._previous: dict[int, object] = {}
        self._depth = 0  # entered again by the loop inside the run that entered it first

    def __enter__(self) -> StopRequest:
        self._depth += 1
        if self._depth == 1 and threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        self._depth -= 1
        if self._depth == 0:
            for s, handler in self._previous.items():
                signal.signal(s, handler)
            self._previous = {}

    def _handle(self, signum: int, frame) -> None:
        if self.signum:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        self.signum = signum
        # os.write, not print: a handler may run in the middle of another write to stderr
        os.write(
            2,
            f"tokenmix {self.command}: {signal.Signals(signum).name}: stopping after this step "
            f"and writing a checkpoint (signal again to abort)\n".encode(),
        )

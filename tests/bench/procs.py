"""Child processes in their own process groups, each logging to a file, all stopped at the end."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx


class Child:
    """One started command; its whole process group is signalled on stop."""

    def __init__(self, name: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
        self.name = name
        self.proc = proc
        self.log_path = log_path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self, grace: float = 15.0) -> None:
        if self.proc.returncode is not None:
            return
        _signal_group(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        # Anything the leader left behind in its group (uvicorn/dramatiq helpers).
        _signal_group(self.proc.pid, signal.SIGKILL)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class Processes:
    """Starts children (each a new session, hence its own process group) and stops them all."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._children: list[Child] = []

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Child:
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
        child = Child(name, proc, log_path)
        self._children.append(child)
        return child

    def stop(self, child: Child) -> None:
        child.stop()
        if child in self._children:
            self._children.remove(child)

    def stop_all(self) -> None:
        """Stops every child still registered, newest first; never raises."""
        while self._children:
            child = self._children.pop()
            try:
                child.stop()
            except Exception as exc:  # keep going: every child must be stopped
                print(f"bench: could not stop {child.name} (pid {child.proc.pid}): {exc}")


def wait_until(
    child: Child, check: Callable[[], bool], *, what: str, timeout: float = 60.0
) -> None:
    """Polls `check` until true; fails with the child's log if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited early:\n{child.log_tail()}")
        try:
            if check():
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready within {timeout:.0f}s:\n{child.log_tail()}")


def http_ok(url: str, headers: dict[str, str] | None = None) -> Callable[[], bool]:
    def check() -> bool:
        return httpx.get(url, headers=headers, timeout=1.0).status_code == 200

    return check


def port_open(port: int) -> Callable[[], bool]:
    def check() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True

    return check

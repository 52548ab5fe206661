"""Process helpers."""

from __future__ import annotations

import os
import threading

__all__ = ["pid_alive", "BackgroundLoop"]


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (one we may not signal still counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class BackgroundLoop:
    """A daemon thread running :meth:`_loop` until :meth:`stop`; subclasses wait on ``self._stop`` so a stop
    wakes them at once, and say in :meth:`enabled` whether they have anything to do."""

    thread_name = "aifinops-loop"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)

    def enabled(self) -> bool:
        """Whether :meth:`start` starts the thread."""
        return True

    def start(self) -> bool:
        """Start the thread when :meth:`enabled`; returns whether it started."""
        if not self.enabled():
            return False
        self._thread.start()
        return True

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop (wakes it at once) and wait up to ``timeout`` seconds for it."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        raise NotImplementedError

"""Where an archive's items are transcribed: the executor seam under ``archive``.

An executor runs ``work(state, *args)`` for each submitted item, where ``state`` is
what a per-worker ``setup`` returned (a loaded engine), and hands back a
``concurrent.futures.Future``, as lhotse's executors take an ``init_fn``. ``local``
(the default) is threads in this process sharing one state: one loaded model, which
CTranslate2 lets ``workers`` threads use at once. Others (``ray``) register here.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from .errors import Error

__all__ = ["EXECUTORS", "Executor", "ExecutorSpec", "LocalExecutor", "open_executor", "register"]


class Executor(Protocol):
    """Runs items' work on workers set up once each."""

    fetches: bool  # True: workers download their items themselves (no shared disk with this process)

    def submit(self, work: Callable[..., Any], *args: Any) -> Future: ...

    def shutdown(self, wait: bool = True, cancel: bool = False) -> None: ...


class LocalExecutor:
    """``workers`` threads in this process; ``setup`` runs once, on first use, and its state is shared."""

    fetches = False

    def __init__(self, workers: int, setup: Callable[[], Any], address: str | None = None) -> None:
        if address:
            raise Error("--ray-address is for --executor ray; the local executor runs here.")
        # Set up now, before any download starts: a model loaded beside the first downloads
        # competed with them for the cores (archive --jobs 1 was 13 % slower, bench/archive.py).
        self._state = setup()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="transcribe")

    def submit(self, work: Callable[..., Any], *args: Any) -> Future:
        return self._pool.submit(work, self._state, *args)

    def shutdown(self, wait: bool = True, cancel: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel)


@dataclass(frozen=True, slots=True)
class ExecutorSpec:
    """A registered executor: ``open(workers, setup, address)`` makes one."""

    name: str
    open: Callable[..., Executor]
    about: str = ""


EXECUTORS: dict[str, ExecutorSpec] = {}


def register(spec: ExecutorSpec) -> None:
    EXECUTORS[spec.name] = spec


def _ray(workers: int, setup: Callable[[], Any], address: str | None = None) -> Executor:
    from .cluster import RayExecutor  # Ray is an extra, imported only when asked for

    return RayExecutor(workers, setup, address)


register(ExecutorSpec("local", LocalExecutor, "threads in this process, one model shared (the default)"))
register(ExecutorSpec("ray", _ray, "Ray actors on a cluster, each with its own model (pip install 'talkdown[ray]')"))


def open_executor(name: str, workers: int, setup: Callable[[], Any], address: str | None = None) -> Executor:
    """The executor ``name`` with ``workers`` workers, each set up by ``setup``.

    Args:
        address: where the cluster is (``ray``: ``auto`` or ``HOST:PORT``; None starts one here).

    Raises:
        Error: no executor of that name, or it cannot start.
    """
    spec = EXECUTORS.get(name)
    if spec is None:
        raise Error(f"Unknown executor {name!r}; talkdown has {', '.join(sorted(EXECUTORS))}.")
    return spec.open(workers, setup, address)

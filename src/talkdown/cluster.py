"""The archive on a Ray cluster: the ``ray`` executor, and the only home of Ray.

Each worker is a Ray actor that loads the engine once (the executor's ``setup``) and
then downloads, decodes and transcribes the items sent to it, returning each
transcript's JSON; the driver alone writes files and the catalogue, so the archive's
crash-safety holds unchanged. An actor whose process or node is lost is started again
elsewhere and its item retried (``max_restarts``, ``max_task_retries``), so an item is
still written once. ``ray.init`` connects to ``--ray-address`` (or ``RAY_ADDRESS``), or
starts a cluster on this machine when neither is given.
"""

from __future__ import annotations

import itertools
import os
import socket
from concurrent.futures import Future
from typing import Any, Callable

from .errors import Error

__all__ = ["INSTALL_HINT", "RayExecutor"]

INSTALL_HINT = "pip install 'talkdown[ray]'"
RESTARTS = 3  # times a lost worker is started again (and its item retried) before the item fails


class _Worker:
    """One actor: the state ``setup`` made, and the items' work run on it one at a time."""

    def __init__(self, setup: Callable[[], Any]) -> None:
        # A setup that fails (a model that cannot load) is kept and raised by ready(), as a
        # task's error: Ray reports an actor that died in __init__ without its exception.
        self._state, self._failed = None, None
        try:
            self._state = setup()
        except Exception as e:  # noqa: BLE001 - handed to the driver by ready()
            self._failed = e

    def ready(self) -> bool:
        if self._failed is not None:
            raise self._failed
        return True

    def run(self, work: Callable[..., Any], *args: Any) -> Any:
        self.ready()
        return work(self._state, *args)


class RayExecutor:
    """``workers`` Ray actors, each set up by ``setup``; they fetch their items themselves."""

    fetches = True

    def __init__(self, workers: int, setup: Callable[[], Any], address: str | None = None) -> None:
        try:
            import ray
        except ImportError as e:
            raise Error(f"--executor ray needs Ray on this machine and on the cluster's: {INSTALL_HINT}.") from e
        self._ray = ray
        address = address or os.environ.get("RAY_ADDRESS") or None
        self._started_here = not ray.is_initialized()
        if self._started_here and address and address != "auto":
            _answers(address)
        if self._started_here:
            try:
                # A local cluster, when no address is given, on this machine's cores.
                ray.init(address=address, include_dashboard=False, log_to_driver=False,
                         logging_level="ERROR", configure_logging=True)
            except (ConnectionError, RuntimeError, ValueError) as e:
                raise Error(f"Could not reach the Ray cluster at {address}: {_first_line(e)}; start it with "
                            "'ray start --head', or leave out --ray-address to start one here.") from e
        actor = ray.remote(num_cpus=1, max_restarts=RESTARTS, max_task_retries=RESTARTS)(_Worker)
        self._actors = [actor.remote(setup) for _ in range(workers)]
        try:  # setup errors (a model that cannot load, talkdown missing on a node) show here, once
            ray.get([a.ready.remote() for a in self._actors])
        except Exception as e:  # noqa: BLE001 - Ray wraps whatever the workers raised
            self.shutdown()
            raise _worker_error(e) from e
        self._next = itertools.cycle(self._actors)

    def submit(self, work: Callable[..., Any], *args: Any) -> Future:
        """Runs ``work(state, *args)`` on the next actor; the future holds the worker's own
        exception (a ``talkdown.Error`` stays one), not Ray's wrapper."""
        ref = next(self._next).run.remote(work, *args)
        out: Future = Future()

        def settle(done: Future) -> None:
            try:
                out.set_result(done.result())
            except Exception as e:  # noqa: BLE001 - handed to whoever asks for the result
                out.set_exception(_worker_error(e))

        ref.future().add_done_callback(settle)
        return out

    def shutdown(self, wait: bool = True, cancel: bool = False) -> None:
        for actor in getattr(self, "_actors", ()):
            try:
                self._ray.kill(actor)
            except Exception:  # noqa: BLE001 - already gone with its node
                pass
        self._actors = []
        if self._started_here and self._ray.is_initialized():
            self._ray.shutdown()


def _answers(address: str) -> None:
    """Fails at once, in one sentence, when nothing listens at HOST:PORT (Ray would retry for a minute)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=3):
            return
    except ValueError as e:
        raise Error(f"{address} is not a Ray address; pass --ray-address auto or HOST:PORT.") from e
    except OSError as e:
        raise Error(f"Could not reach the Ray cluster at {address}: {e.strerror or e}; start it with "
                    "'ray start --head', or leave out --ray-address to start one here.") from e


def _worker_error(error: BaseException) -> BaseException:
    """What a worker raised, unwrapped: talkdown's own errors as they are, Ray's as a sentence."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, Error):
        return cause
    if isinstance(error, Error) and not hasattr(error, "cause"):
        return error
    name = type(error).__name__
    if isinstance(cause, ModuleNotFoundError) or "No module named" in str(error):
        return Error(f"A Ray worker cannot import talkdown ({_first_line(cause or error)}); install it on every "
                     f"node of the cluster ({INSTALL_HINT}).")
    if "ActorDied" in name or "ActorError" in name or "ActorUnavailable" in name:
        return Error(f"A Ray worker was lost and could not be started again ({_first_line(error)}); "
                     "check the cluster's nodes and run again (what is archived so far is kept).")
    return Error(f"A Ray worker failed: {_first_line(cause or error)}.")


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__

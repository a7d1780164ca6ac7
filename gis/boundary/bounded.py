"""Reading an applicant's boundary under a hard time limit: the parse runs in a parser process, killed if it overruns.

Every known way a file can cost too much is refused by the readers themselves (gis/data/limits.toml); this is the
backstop for the ways nobody foresaw. A small pool of parser processes (`parse_workers`) is started when first needed
and reused: each is a fresh interpreter (`python -m gis.boundary.bounded`, never a fork of a threaded server) that
imports the readers, says it is ready, then parses one request at a time from its socket. A parse that overruns its
time is killed with its process, and a new process is started in its place at once. Each process may grow its address
space by `parse_memory_mb` at most, and exits when the server that started it is gone. The command line keeps the
ordinary `read_boundary_bytes`.
"""

from __future__ import annotations

import atexit
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from gis.boundary.model import Boundary, BoundaryError, CountyExtent, error
from gis.limits import upload_limits

_READY = "ready"
_START_SECONDS = 60.0  # a fresh interpreter importing shapely, pyproj and GDAL on a busy two-core machine


def _refused(code: str, zh: str, en: str) -> BoundaryError:
    return BoundaryError([error(code, zh, en)])


class _Parser:
    """One parser process and our end of its socket."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        package_root = str(Path(__file__).resolve().parents[2])
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p),
            # Arrow's own allocator (jemalloc/mimalloc, used by pyogrio's reads) reserves gigabytes of address space
            # up front, which the address-space limit below turns into "malloc of size 64 failed" on any file
            "ARROW_DEFAULT_MEMORY_POOL": "system",
        }
        command = [sys.executable, "-m", "gis.boundary.bounded", str(theirs.fileno())]
        self.process = subprocess.Popen(command, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=env)
        theirs.close()
        self.conn = Connection(ours.detach())
        self.ready = False

    def wait_ready(self) -> None:
        """Wait for the process to have imported the readers (the parse's clock starts after)."""
        if self.ready:
            return
        if not self.conn.poll(_START_SECONDS) or self.conn.recv() != _READY:
            raise OSError("the parser process did not start")
        self.ready = True

    def alive(self) -> bool:
        """Return whether the process is still running."""
        return self.process.poll() is None

    def stop(self) -> None:
        """Kill the process (it may be in the middle of a parse) and close the socket."""
        self.process.kill()
        self.process.wait()
        self.conn.close()


def _replacement() -> _Parser | None:
    """Start a process in place of a killed one now, so it is ready for the next caller (None: the next caller tries)."""
    try:
        return _Parser()
    except OSError:
        return None


class ParserPool:
    """Parser processes, each serving one parse at a time; started when first needed and again after a kill."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._idle: queue.LifoQueue[_Parser | None] = queue.LifoQueue()
        for _ in range(size):
            self._idle.put(None)

    def parse(self, kind: str, args: tuple[Any, ...], seconds: float, wait: float) -> Boundary:
        """Parse in a free parser process: wait up to `wait` s for one, give it `seconds` s, kill it if it takes longer."""
        try:
            parser = self._idle.get(timeout=wait)
        except queue.Empty:
            zh, en = (
                f"所有解析进程都忙（已等待 {wait:g} 秒），请稍后再试",
                f"every boundary parser is busy (waited {wait:g} s): try again shortly",
            )
            raise _refused("parse_busy", zh, en) from None
        answer = None
        started = False
        deadline = float("inf")
        try:
            if parser is None or not parser.alive():
                parser = _Parser()
            parser.wait_ready()
            started = True
            deadline = time.monotonic() + seconds
            parser.conn.send((kind, args))
            if parser.conn.poll(max(0.0, deadline - time.monotonic())):
                answer = parser.conn.recv()
        except (EOFError, OSError):  # the process died under the file, or never started
            pass
        finally:
            if answer is None and parser is not None:
                parser.stop()
                parser = _replacement() if started else None  # a replacement starts importing now
            self._idle.put(parser)
        if answer is None:
            if not started:
                zh, en = (
                    "边界解析进程无法启动，请稍后再试",
                    "the boundary parser could not be started: try again shortly",
                )
                raise _refused("parse_unavailable", zh, en)
            if time.monotonic() < deadline:
                zh, en = (
                    "文件使解析进程异常退出，无法读取",
                    "the file made the parser stop unexpectedly: it cannot be read",
                )
                raise _refused("parse_crashed", zh, en)
            zh = f"文件解析超过 {seconds:g} 秒上限，已中止"
            en = f"parsing the file took longer than the limit of {seconds:g} s and was stopped"
            raise _refused("parse_timeout", zh, en)
        status, value = answer
        if status == "ok":
            assert isinstance(value, Boundary)
            return value
        if status == "refused":
            raise BoundaryError(value)
        raise _refused("unreadable", f"文件无法解析：{value}", f"the file cannot be parsed: {value}")

    def start(self) -> None:
        """Start every process now and wait until each is ready."""
        slots = [self._idle.get() for _ in range(self.size)]
        started: list[_Parser | None] = []
        try:
            for slot in slots:
                started.append(slot if slot is not None and slot.alive() else _Parser())
            for parser in started:
                if parser is not None:
                    parser.wait_ready()
        finally:
            for parser in started + slots[len(started) :]:
                self._idle.put(parser)

    def stop(self) -> None:
        """Kill the idle processes (a busy one is stopped by its caller); they start again when next needed."""
        idle = []
        while True:
            try:
                idle.append(self._idle.get_nowait())
            except queue.Empty:
                break
        for parser in idle:
            if parser is not None:
                parser.stop()
            self._idle.put(None)


_pool: ParserPool | None = None
_pool_lock = threading.Lock()


def parser_pool() -> ParserPool:
    """Return this process's parser pool (created at the first call, its processes when first used)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ParserPool(upload_limits().parse_workers)
            atexit.register(_pool.stop)
        return _pool


def start_parsers() -> None:
    """Start the parser processes now (at server start-up) instead of at the first upload."""
    parser_pool().start()


def stop_parsers() -> None:
    """Stop the idle parser processes (at server shut-down; they start again when next needed)."""
    if _pool is not None:
        _pool.stop()


def read_boundary_bytes_bounded(
    data: bytes,
    filename: str,
    *,
    seconds: float | None = None,
    zone: int | None = None,
    extent: CountyExtent | None = None,
) -> Boundary:
    """Read an uploaded boundary file like read_boundary_bytes, in a parser process killed after `seconds`.

    `seconds` defaults to parse_seconds (gis/data/limits.toml); an overrun is BoundaryError `parse_timeout`, no free
    parser within as long `parse_busy`, a parser that died `parse_crashed`.
    """
    limit = upload_limits().parse_seconds if seconds is None else seconds
    return parser_pool().parse("bytes", (data, filename, zone, extent), limit, limit)


def read_drawn_bounded(
    geojson: dict[str, Any] | str, *, seconds: float | None = None, extent: CountyExtent | None = None
) -> Boundary:
    """Read a polygon drawn on the map like read_drawn, in a parser process killed after `seconds`."""
    from gis.boundary.ogr import refuse_deep

    refuse_deep(geojson)  # before it is pickled for the socket: pickling recurses
    limit = upload_limits().parse_seconds if seconds is None else seconds
    return parser_pool().parse("drawn", (geojson, extent), limit, limit)


def _limit_memory(extra_mb: int) -> None:
    """Let this process grow its address space by `extra_mb` MiB at most (Linux)."""
    import resource

    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return
    for line in status.splitlines():
        if line.startswith("VmSize:"):
            now = int(line.split()[1]) * 1024
            resource.setrlimit(resource.RLIMIT_AS, (now + extra_mb * 1_048_576, resource.RLIM_INFINITY))
            return


def _exit_with_server(server: int) -> None:
    """Exit when the server that started this process is gone (reparented), even in the middle of a parse."""
    while os.getppid() == server:
        time.sleep(1.0)
    os._exit(0)


def _serve(fd: int) -> None:
    """Run as a parser process: import the readers, say so, then parse each request and send back the answer."""
    threading.Thread(target=_exit_with_server, args=(os.getppid(),), daemon=True).start()
    from gis.boundary import read_boundary_bytes, read_drawn

    conn = Connection(fd)
    _limit_memory(upload_limits().parse_memory_mb)
    try:
        conn.send(_READY)
        while True:
            kind, args = conn.recv()
            answer: tuple[str, Any]
            try:
                answer = ("ok", read_boundary_bytes(*args) if kind == "bytes" else read_drawn(*args))
            except BoundaryError as exc:
                answer = ("refused", exc.issues)
            except Exception as exc:  # noqa: BLE001 - the readers catch what a file can cause; this is a last resort
                answer = ("failed", f"{type(exc).__name__}: {exc}")
            conn.send(answer)
    except (EOFError, OSError):
        return  # the server closed its end: nothing more to do


if __name__ == "__main__":
    _serve(int(sys.argv[1]))

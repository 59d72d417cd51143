"""Serve the teaching app offline: its JavaScript and CSS come from an installed Python
package, the Solara server makes no calls home, and every way of stopping it stops it.

Solara's page asks its own server for its assets under `/_solara/cdn/<package>@<version>/`;
the server looks in `<sys.prefix>/share/solara/cdn/` and only on a miss fetches from a CDN.
PyPI's `solara-assets` package (pinned in the `app` extra) installs exactly there the npm
packages the page of the pinned Solara requests (`PACKAGES`, read off the browser's
requests; `tests/test_app.py` fails if the page asks for anything that is not there). So
`pip install -e '.[app]'` is the whole installation: no npm, and nothing fetched while
the class runs.

    python -m analysis.app_assets       # says where each asset package is, or what is missing
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What the page of solara 1.64.1 requests, all installed by solara-assets 1.58.2 (Solara's
# assets change less often than Solara: 1.58.2 is the newest solara-assets release, and
# holds these same versions).
PACKAGES = (
    "@widgetti/solara-vuetify-app@10.1.1",
    "requirejs@2.3.6",
    "font-awesome@4.5.0",
)
# the file of each package the page loads first: its presence tells the package is complete
ENTRY_FILES = {
    "@widgetti/solara-vuetify-app@10.1.1": "dist/solara-vuetify-app8.min.js",
    "requirejs@2.3.6": "require.js",
    "font-awesome@4.5.0": "css/font-awesome.min.css",
}
INSTALL_HINT = "pip install -e '.[app]' (it installs solara-assets, the page's JavaScript and CSS)"
# Solara's server otherwise asks pypi.org for a newer version (--no-check-version) and
# reports usage to api.ipify.org and api.mixpanel.com (app.py switches that off as well).
OFFLINE_ENV = {"SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}


def cdn_dir() -> Path:
    """Where Solara's server looks for CDN files (where solara-assets installs them)."""
    from solara.server.settings import assets

    return Path(assets.proxy_cache_dir)


def missing_assets() -> list[str]:
    """The packages of `PACKAGES` that are not installed where the server looks (none: all there)."""
    root = cdn_dir()
    return [spec for spec in PACKAGES if not (root / spec / ENTRY_FILES[spec]).is_file()]


def check_assets() -> None:
    """Raise RuntimeError naming what is missing and how to install it, unless every asset is there."""
    missing = missing_assets()
    if missing:
        raise RuntimeError(
            f"the app's JavaScript and CSS are missing from {cdn_dir()} ({', '.join(missing)}): {INSTALL_HINT}."
        )


def solara_command(host: str = "127.0.0.1", port: int = 8765) -> list[str]:
    """The command that serves app.py (what `run.py app` runs)."""
    solara = shutil.which("solara", path=str(Path(sys.executable).parent)) or shutil.which("solara") or "solara"
    return [
        solara,
        "run",
        str(ROOT / "app.py"),
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-check-version",
    ]


STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, name)
)


def _die_with_parent(parent: int) -> None:
    """In the server process, before it starts (Linux): be sent SIGTERM when the process that
    started it dies, however it dies (even by SIGKILL, which it cannot catch)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


class _Stop(Exception):
    """Raised by a stop signal's handler in `supervise`."""


def supervise(command: list[str], env: dict[str, str], grace: float = 5.0) -> int:
    """Run the server until it exits or this process is asked to stop, and then stop all of it.

    The server runs in a process group of its own, so Ctrl-C at the terminal reaches this
    process only; Ctrl-C, SIGTERM (a process manager, `kill`), SIGHUP (a closed terminal)
    and SIGQUIT all end in `stop_group`: SIGTERM to the group, SIGKILL to whatever is still
    alive `grace` seconds later. On Linux the server is also told to stop when this process
    dies without a word (SIGKILL). Returns the server's exit status, 0 after a stop.
    """
    parent = os.getpid()
    process = subprocess.Popen(
        command,
        env=env,
        start_new_session=os.name == "posix",
        preexec_fn=(lambda: _die_with_parent(parent)) if sys.platform == "linux" else None,
    )

    def on_signal(_signum: int, _frame: object) -> None:
        raise _Stop

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    try:
        return process.wait()
    except _Stop:
        for sig in STOP_SIGNALS:  # a second Ctrl-C or a closing terminal does not interrupt the stop
            signal.signal(sig, signal.SIG_IGN)
        stop_group(process, grace)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def stop_group(process: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM to the process group led by `process`, SIGKILL after `grace` seconds to what is left."""
    if os.name != "posix":
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
        process.kill()
        process.wait()
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):  # the leader and anything it left in its group
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_in_background(
    via_run_py: bool = False,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    timeout: float = 90.0,
    app_args: tuple[str, ...] = (),
    root: Path = ROOT,
) -> tuple[subprocess.Popen, str]:
    """Start the app on a free local port in its own process group; return (process, url)
    once the page answers. For tests and benchmarks; stop it with `stop_server`.

    Args:
        via_run_py: start `run.py app` (the user's command) rather than `solara run` itself.
        env: extra environment variables for the server.
        log: file for the server's output (shown in the error if it does not start).
        app_args: more options of `run.py app` (e.g. `("--host", "0.0.0.0")`); with via_run_py only.
        root: the checkout whose `run.py app` to start (a benchmark compares with an older one).
    """
    port = free_port()
    if via_run_py:
        command = [sys.executable, str(root / "run.py"), "app", "--port", str(port), *app_args]
    else:
        check_assets()
        command = solara_command(port=port)
    if log is None:
        handle, name = tempfile.mkstemp(prefix="relocation-app-", suffix=".log")
        os.close(handle)
        log = Path(name)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command,
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **OFFLINE_ENV, **(env or {})},
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.3)
    stop_server(process)
    tail = log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"the app server ({' '.join(command)}) did not answer within {timeout:.0f} s:\n{tail}")


def stop_server(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """Stop a server started by `serve_in_background`, with every process under it.

    `run.py app` starts `solara run` in a process group of its own (so that Ctrl-C in a
    terminal reaches it through run.py), so the group of the process we started is not
    enough: signal the group of every process in the tree.
    """
    import psutil  # a dependency of dask's distributed, so always installed

    try:
        root = psutil.Process(process.pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        tree = []
    groups = set()
    own = os.getpgrp()
    for proc in tree:
        try:
            groups.add(os.getpgid(proc.pid))
        except ProcessLookupError:
            continue
    for group in groups - {own}:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
    _, alive = psutil.wait_procs(tree, timeout=timeout)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(alive, timeout=5)
    process.wait(timeout=5)


def main() -> None:
    """Say where each asset package is, or what is missing."""
    root = cdn_dir()
    for spec in PACKAGES:
        print(f"{spec:40s} -> {root / spec}")
    try:
        check_assets()
    except RuntimeError as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()

"""Serve the teaching app offline: its JavaScript and CSS fetched once at install time, and
the Solara server started without calls home.

Solara's page asks its own server for its assets under `/_solara/cdn/<package>@<version>/`;
the server looks in `<sys.prefix>/share/solara/cdn/` and only on a miss fetches from a
CDN. `ensure_assets` puts the packages there from the npm registry (`npm pack`), so
neither the browser nor the server needs the internet while the class runs. The versions
are the ones this Solara version requests (read off the browser's requests);
`tests/test_app.py` fails if the page requests anything that is not there.

    python -m analysis.app_assets       # idempotent: skips what is already there

`run.py app` calls `ensure_assets()` before starting the server, so a fresh install
fetches them the first time the app starts (npm and the npm registry are needed once).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "@widgetti/solara-vuetify-app@10.1.1",
    "requirejs@2.3.6",
    "font-awesome@4.5.0",
    "@widgetti/vue-grid-layout@2.3.13-alpha.2",  # Mesa's SolaraViz grid, should a page use it
)
# Solara's server otherwise asks pypi.org for a newer version (--no-check-version) and
# reports usage to api.ipify.org and api.mixpanel.com (app.py switches that off as well).
OFFLINE_ENV = {"SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}


def cdn_dir() -> Path:
    """Where Solara's server looks for CDN files (its assets proxy cache)."""
    from solara.server.settings import assets

    return Path(assets.proxy_cache_dir)


def fetch(spec: str, target_root: Path) -> Path:
    """Unpack one npm package into `<target_root>/<name>@<version>/` unless it is there."""
    target = target_root / spec
    if target.exists() and any(target.iterdir()):
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed once to fetch the app's JavaScript and CSS (Debian: apt-get install npm)")
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [npm, "pack", spec, "--silent", "--pack-destination", tmp], capture_output=True, text=True, check=False
        )
        if out.returncode != 0:
            raise RuntimeError(f"npm pack {spec} failed: {out.stderr.strip()}")
        tarball = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(tarball) as archive:
            archive.extractall(tmp, filter="data")
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(Path(tmp) / "package", partial)
        shutil.rmtree(target, ignore_errors=True)  # an empty folder left by hand
        partial.rename(target)  # complete or absent: an interrupted fetch is redone next time
    return target


def ensure_assets() -> list[Path]:
    """Every package the page needs, in Solara's asset directory (fetched if missing)."""
    root = cdn_dir()
    return [fetch(spec, root) for spec in PACKAGES]


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


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_in_background(
    via_run_py: bool = False, env: dict[str, str] | None = None, log: Path | None = None, timeout: float = 90.0
) -> tuple[subprocess.Popen, str]:
    """Start the app on a free local port in its own process group; return (process, url)
    once the page answers. For tests and benchmarks; stop it with `stop_server`.

    Args:
        via_run_py: start `run.py app` (the user's command) rather than `solara run` itself.
        env: extra environment variables for the server.
        log: file for the server's output (shown in the error if it does not start).
    """
    port = free_port()
    if via_run_py:
        command = [sys.executable, str(ROOT / "run.py"), "app", "--port", str(port)]
    else:
        ensure_assets()
        command = solara_command(port=port)
    if log is None:
        handle, name = tempfile.mkstemp(prefix="relocation-app-", suffix=".log")
        os.close(handle)
        log = Path(name)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
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
    """Fetch the assets and say where they are."""
    for spec, path in zip(PACKAGES, ensure_assets(), strict=True):
        print(f"{spec:45s} -> {path}")


if __name__ == "__main__":
    sys.exit(main())

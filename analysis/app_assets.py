"""Fetch the browser app's JavaScript and CSS once, at install time, for offline use.

Solara's page asks its server for these files under `/_solara/cdn/<package>@<version>/...`
and the server looks in `<sys.prefix>/share/solara/cdn/` before trying a CDN. This script
puts them there from the npm registry (`npm pack`), so the page never needs the internet.
The exact versions are the ones this Solara version requests (seen in the server log and
the browser); `tests/test_app.py` fails if the page requests anything else from outside.

    python -m analysis.app_assets       # idempotent: skips what is already there

`run.py app` calls `ensure_assets()` before starting the server, so a fresh install
fetches them the first time the app starts (npm and the npm registry needed once).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGES = (
    "@widgetti/solara-vuetify-app@10.1.1",
    "requirejs@2.3.6",
    "font-awesome@4.5.0",
    "@widgetti/vue-grid-layout@2.3.13-alpha.2",
)


def cdn_dir() -> Path:
    """Where Solara's server looks for CDN files (its assets proxy cache)."""
    from solara.server.settings import assets

    return Path(assets.proxy_cache_dir)


def fetch(spec: str, target_root: Path) -> Path:
    """Unpack one npm package into `<target_root>/<name>@<version>/`."""
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
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(Path(tmp) / "package", target, dirs_exist_ok=True)
    return target


def ensure_assets() -> list[Path]:
    """Every package the page needs, in Solara's asset directory (fetched if missing)."""
    root = cdn_dir()
    return [fetch(spec, root) for spec in PACKAGES]


def main() -> None:
    for spec, path in zip(PACKAGES, ensure_assets(), strict=True):
        print(f"{spec:45s} -> {path}")


if __name__ == "__main__":
    sys.exit(main())


def serve_in_background(timeout: float = 90.0):
    """Start `run.py app` on a free local port in its own process group; return (process, url)
    once the page answers. For tests and benchmarks; stop it with `stop_server`."""
    import socket
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    run_py = Path(__file__).resolve().parents[1] / "run.py"
    process = subprocess.Popen(
        [sys.executable, str(run_py), "app", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.5)
    stop_server(process)
    raise RuntimeError(f"the app server did not answer within {timeout:.0f} s")


def stop_server(process) -> None:
    """Stop a server started by `serve_in_background` (and the process it re-launched)."""
    import os
    import signal

    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)

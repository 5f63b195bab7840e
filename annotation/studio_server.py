"""A local Label Studio for users who have none: its own virtual environment, data and token.

Label Studio pins packages that clash with the toolkit's, so it is installed once into a
virtual environment under the user data folder and started from there as a child process
in its own session (so ``stop`` ends it and the workers it spawned, and nothing else).

Layout of the studio home (``$MORALGAP_STUDIO_HOME``, default
``$XDG_DATA_HOME/moralgap/studio``)::

    venv/            Label Studio itself (reused between runs; marked complete by venv/.moralgap-ok)
    data/            Label Studio's database and media (LABEL_STUDIO_BASE_DATA_DIR)
    token            the admin's API token, mode 0600, never printed or logged
    admin.json       admin e-mail and password, mode 0600 (the password is needed only to log in)
    server.json      pid, host, port and url of the running server
    server.log       the server's own output

The admin user and its legacy API token are created by the very first start, which must pass
``--enable-legacy-api-token`` for a fixed token to work at all.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from moralgap.errors import ConfigError, MoralgapError
from moralgap.io import atomic_open, write_json
from moralgap.processes import pid_alive

log = logging.getLogger(__name__)

# The version these modules were verified against (server 1.23.2 with label-studio-sdk 2.1.2).
LABEL_STUDIO_VERSION = "1.23.2"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
ADMIN_EMAIL = "admin@moralgap.local"
_VENV_MARK = ".moralgap-ok"
_VENV_INSTALLING = ".moralgap-installing"


class StudioServerError(MoralgapError):
    """The local Label Studio could not be installed, started or stopped."""


def studio_home() -> Path:
    env = os.environ.get("MORALGAP_STUDIO_HOME")
    if env:
        return Path(env).expanduser()
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data / "moralgap" / "studio"


def free_port(host: str = DEFAULT_HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _locked(path: Path):
    """Serialise installs and first starts between processes (two test runs, two shells)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def venv_ready(venv: Path, version: str = LABEL_STUDIO_VERSION) -> bool:
    mark = venv / _VENV_MARK
    return mark.is_file() and mark.read_text().strip() == version and (venv / "bin" / "label-studio").exists()


def ensure_venv(venv: Path, version: str = LABEL_STUDIO_VERSION, *, python: str | None = None,
                timeout_s: float = 1800) -> Path:
    """Create ``venv`` with label-studio==``version`` unless it is already there; return it.

    The marker file is written only after pip succeeded, so an interrupted install is redone
    instead of being mistaken for a working one.
    """
    venv = Path(venv)
    with _locked(venv.parent / ".venv.lock"):
        if venv_ready(venv, version):
            return venv
        if venv.exists():
            # only ever delete a venv this module made (an older version or an interrupted install)
            if not ((venv / _VENV_MARK).exists() or (venv / _VENV_INSTALLING).exists()):
                raise StudioServerError(f"{venv} exists but was not made by moralgap: remove it, or point "
                                        "MORALGAP_STUDIO_HOME elsewhere")
            shutil.rmtree(venv)
        log.warning("installing Label Studio %s into %s (about 1 GB, takes a minute or two)", version, venv)
        py = python or sys.executable
        logfile = venv.parent / "install.log"
        try:
            with open(logfile, "w") as out:
                subprocess.run([py, "-m", "venv", str(venv)], check=True, stdout=out, stderr=subprocess.STDOUT)
                (venv / _VENV_INSTALLING).write_text(version + "\n")
                subprocess.run(
                    [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
                     f"label-studio=={version}"],
                    check=True, stdout=out, stderr=subprocess.STDOUT, timeout=timeout_s,
                )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            raise StudioServerError(f"could not install label-studio=={version} into {venv}: {exc}; see {logfile}") from None
        (venv / _VENV_MARK).write_text(version + "\n")
        (venv / _VENV_INSTALLING).unlink()
    return venv


@dataclass
class StudioStatus:
    running: bool
    answers: bool
    url: str | None
    pid: int | None
    data_dir: Path

    def describe(self) -> str:
        if self.answers:
            return f"Label Studio answers at {self.url} (pid {self.pid}, data in {self.data_dir})"
        if self.running:
            return f"Label Studio process {self.pid} is running but {self.url} does not answer yet"
        return f"no local Label Studio is running (data in {self.data_dir})"


class StudioServer:
    """Install, start, stop and check one local Label Studio.

    ``home`` holds the data, token and state; ``venv`` defaults to ``home/venv`` and may be
    shared (the tests use a fresh home with the user's cached venv).
    """

    def __init__(self, home: str | os.PathLike | None = None, *, venv: str | os.PathLike | None = None,
                 host: str = DEFAULT_HOST, port: int | None = None, version: str = LABEL_STUDIO_VERSION):
        self.home = Path(home) if home is not None else studio_home()
        self.venv = Path(venv) if venv is not None else self.home / "venv"
        self.host = host
        self.port = port
        self.version = version

    # -- files -------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def token_path(self) -> Path:
        return self.home / "token"

    @property
    def state_path(self) -> Path:
        return self.home / "server.json"

    @property
    def log_path(self) -> Path:
        return self.home / "server.log"

    def _state(self) -> dict:
        try:
            return json.loads(self.state_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def token(self) -> str:
        """The admin's API token; raises if the server was never started from this home."""
        try:
            return self.token_path.read_text().strip()
        except FileNotFoundError:
            raise ConfigError(f"no Label Studio token in {self.home}: run 'moralgap studio start' first") from None

    def admin(self) -> dict:
        return json.loads((self.home / "admin.json").read_text())

    def _create_credentials(self) -> tuple[str, str, bool]:
        """Return (token, password, first_start); credentials are made once and kept."""
        if self.token_path.exists() and (self.home / "admin.json").exists():
            return self.token(), self.admin()["password"], False
        token = secrets.token_hex(20)
        password = secrets.token_urlsafe(18)
        with atomic_open(self.home / "admin.json", file_mode=0o600) as fh:
            json.dump({"email": ADMIN_EMAIL, "password": password}, fh)
        with atomic_open(self.token_path, file_mode=0o600) as fh:
            fh.write(token + "\n")
        return token, password, True

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def url(self) -> str | None:
        st = self._state()
        return st.get("url")

    def _is_ours(self, pid: int | None, venv: str | None = None) -> bool:
        """The pid in server.json is alive *and* still this home's Label Studio.

        A pid is reused after the server dies (a reboot, a crash); killing its process group
        then would kill whatever got the number. So the command line must be the label-studio
        of the venv the server was started from (recorded in server.json; a home's own venv by
        default), and the process must lead its own group (it was started that way).
        """
        venv = venv or str(self.venv)
        if not pid_alive(pid):
            return False
        cmdline = _cmdline(pid)
        if cmdline is None:  # no /proc and no ps: cannot tell, so do not claim it
            return False
        try:
            leads_group = os.getpgid(pid) == pid
        except ProcessLookupError:
            return False
        return leads_group and any(Path(part).name == "label-studio" for part in cmdline[:2]) and \
            any(venv in part for part in cmdline[:2])

    @staticmethod
    def answers(url: str | None, timeout: float = 3.0) -> bool:
        if not url:
            return False
        try:
            r = httpx.get(url.rstrip("/") + "/health", timeout=timeout)
        except httpx.HTTPError:
            return False
        return r.status_code == 200

    def status(self) -> StudioStatus:
        st = self._state()
        pid = st.get("pid")
        running = self._is_ours(pid, st.get("venv"))
        url = st.get("url")
        return StudioStatus(running=running, answers=running and self.answers(url), url=url, pid=pid if running else None,
                            data_dir=self.data_dir)

    def start(self, *, timeout_s: float = 240, install: bool = True) -> StudioStatus:
        """Start the server (installing it first if needed) and wait until it answers."""
        current = self.status()
        if current.answers:
            return current
        if current.running:
            raise StudioServerError(f"Label Studio process {current.pid} is running but does not answer: "
                                    "run 'moralgap studio stop' first")
        if install:
            ensure_venv(self.venv, self.version)
        elif not venv_ready(self.venv, self.version):
            raise StudioServerError(f"Label Studio is not installed in {self.venv}")
        self.home.mkdir(parents=True, exist_ok=True)
        port = self.port or DEFAULT_PORT
        if not _port_free(self.host, port):
            raise StudioServerError(f"port {port} on {self.host} is taken: choose another with --port")
        url = f"http://{self.host}:{port}"
        with _locked(self.home / ".start.lock"):
            token, password, first = self._create_credentials()
            env = {k: v for k, v in os.environ.items() if not k.startswith(("LABEL_STUDIO_", "DJANGO_"))}
            env.update(LABEL_STUDIO_BASE_DATA_DIR=str(self.data_dir), LABEL_STUDIO_USERNAME=ADMIN_EMAIL,
                       LABEL_STUDIO_PASSWORD=password, LABEL_STUDIO_USER_TOKEN=token,
                       LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="true", SENTRY_DSN="", FRONTEND_SENTRY_DSN="",
                       COLLECT_ANALYTICS="false")
            # credentials go through the environment, not argv, so `ps` never shows them
            cmd = [str(self.venv / "bin" / "label-studio"), "start", "--no-browser", "--internal-host", self.host,
                   "--port", str(port), "--enable-legacy-api-token"]
            logfh = open(self.log_path, "ab")
            os.chmod(self.log_path, 0o600)
            proc = subprocess.Popen(cmd, env=env, stdout=logfh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=self.home, start_new_session=True)
            logfh.close()
            write_json(self.state_path, {"pid": proc.pid, "venv": str(self.venv), "host": self.host, "port": port, "url": url,
                                         "version": self.version, "started_at": time.time()})
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise StudioServerError(f"Label Studio exited with status {proc.returncode} while starting; "
                                            f"see {self.log_path}")
                if self.answers(url, timeout=2.0):
                    break
                time.sleep(1.0)
            else:
                self.stop()
                raise StudioServerError(f"Label Studio did not answer at {url} within {timeout_s:.0f} s; see {self.log_path}")
        self._check_token(url, token)
        log.info("Label Studio %s up at %s (first start: %s)", self.version, url, first)
        return self.status()

    @staticmethod
    def _check_token(url: str, token: str) -> None:
        r = httpx.get(url + "/api/current-user/whoami", headers={"Authorization": f"Token {token}"}, timeout=10)
        if r.status_code != 200:
            raise StudioServerError(
                f"Label Studio at {url} refuses the stored token (HTTP {r.status_code}); its data folder was "
                "probably first started without --enable-legacy-api-token or with another token"
            )

    def stop(self, timeout_s: float = 30) -> bool:
        """Stop the server this home started; return whether one was running."""
        st = self._state()
        pid = st.get("pid")
        if not self._is_ours(pid, st.get("venv")):
            if pid_alive(pid):
                log.warning("pid %s in %s is no longer this home's Label Studio (now: %s); not stopping it",
                            pid, self.state_path, " ".join(_cmdline(pid) or ["?"])[:120])
            self.state_path.unlink(missing_ok=True)
            return False
        # the server was started in its own session: its process group id is its pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and pid_alive(pid):
            time.sleep(0.3)
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        self.state_path.unlink(missing_ok=True)
        return True


def _cmdline(pid: int) -> list[str] | None:
    """A process's argv from /proc (Linux) or ps (macOS, BSD); None when neither can tell."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        return [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]
    except FileNotFoundError:
        if Path("/proc/self").exists():
            return []  # Linux, process gone
    except OSError:
        return None
    try:
        out = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.split() if out.returncode == 0 else []


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True

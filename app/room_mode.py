"""Room mode: several app processes behind one nginx, started with one command, for a workshop.

    python -m app.room_mode --processes 2 --host 0.0.0.0 --port 8080   # then share http://<this machine>:8080
    python -m app.room_mode --processes 2 -- --server.maxUploadSize 10  # options after -- go to every app process

One Streamlit process uses about one core (Python's GIL), so a room on a 2-core laptop runs 2. This is
a thin launcher of existing tools, nothing more: N x `python -m app.serve` on loopback ports
(8601, 8602, ...) sharing one `STREAMLIT_SERVER_COOKIE_SECRET`, and the installed nginx (Debian
`nginx`, Homebrew `nginx`) in the foreground, configured from `deploy/nginx/room.conf.template`
(sticky sessions by cookie, websockets, failover, gzip). It restarts an app process that dies, on
the same port (nginx sends its visitors elsewhere meanwhile), and on Ctrl-C or SIGTERM stops nginx
and every process it started. For one VM or a cluster use `deploy/` instead (compose, Kubernetes).

Python API (tests, benchmarks/room_load.py):

    with start_room(processes=2) as room:        # free ports when port/first_backend_port are None
        room.url            # "http://127.0.0.1:PORT"
        room.backend_ports  # [p0, p1]
        room.backend_pids() # current pid per backend (a new one after a restart)
        room.kill_backend(0)  # SIGKILL its process group, as a crash would; restarted when restart=True
        room.nginx_pid

Why failover keeps a visitor's session valid: Streamlit 1.67's Starlette server checks XSRF by double
submit (the `_streamlit_xsrf` cookie against the token the page sends; no server-side key), so any
process accepts any visitor's cookie; the cookie secret signs only login cookies and the session
middleware, and is shared anyway, as Streamlit asks of replicas. The websocket's Origin must match
its Host, so nginx passes `Host: $http_host` (with the port) unchanged.
"""
from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import queue
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "deploy" / "nginx" / "room.conf.template"
COMPOSE_CONF = REPO / "deploy" / "nginx" / "nginx.conf"
DEFAULT_NGINX = "/usr/sbin/nginx"
NGINX_CANDIDATES = (DEFAULT_NGINX, "/usr/local/sbin/nginx", "/opt/homebrew/bin/nginx", "/usr/local/bin/nginx")
COOKIE_NAME = "rwkv_room"
SECRET_ENV = "STREAMLIT_SERVER_COOKIE_SECRET"
INSTALL_HINT = ("Install nginx (Debian/Ubuntu: sudo apt-get install nginx-light; macOS: brew install nginx), "
                "or pass --nginx /path/to/nginx.")
HEALTH_PATH = "/_stcore/health"
# Temp-path directives per optional nginx module: Debian builds them in with absolute paths under
# /var/lib/nginx, which a normal user cannot create, so each gets a folder in the run directory.
_TEMP_PATHS = (("client_body_temp_path", "body", None), ("proxy_temp_path", "proxy", None),
               ("fastcgi_temp_path", "fastcgi", "http_fastcgi"), ("uwsgi_temp_path", "uwsgi", "http_uwsgi"),
               ("scgi_temp_path", "scgi", "http_scgi"))
_PLACEHOLDER = re.compile(r"@@([A-Z_]+)@@")
_BLOCK_PLACEHOLDER = re.compile(r"^([ \t]*)@@([A-Z_]+)@@[ \t]*$", re.M)


class RoomError(RuntimeError):
    """The room could not start (nginx missing, a port in use, an app process that would not start)."""


# ---------------------------------------------------------------------------------------------
# Pure parts: argument parsing and the nginx config (unit-tested without starting anything)


def split_extra(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """`[room options] -- [streamlit options]` -> (room options, streamlit options)."""
    argv = list(argv)
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1:]
    return argv, []


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m app.room_mode",
        description="Run several app processes behind one nginx (sticky sessions, websockets, gzip, "
                    "failover) for a room of people. Options after -- go to every Streamlit process.",
        epilog="Example: python -m app.room_mode --processes 2 --host 0.0.0.0 --port 8080")
    p.add_argument("--processes", "-n", type=int, default=max(1, os.cpu_count() or 1),
                   help="app processes to run (default: one per core, %(default)s here)")
    p.add_argument("--port", type=int, default=8080, help="port people connect to (default %(default)s)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; 0.0.0.0 lets other machines in (default %(default)s)")
    p.add_argument("--first-backend-port", type=int, default=8601,
                   help="app processes listen on loopback from this port up (default %(default)s)")
    p.add_argument("--nginx", default=DEFAULT_NGINX, help="nginx binary (default %(default)s, else found on PATH)")
    p.add_argument("--no-restart", dest="restart", action="store_false",
                   help="leave a crashed app process down instead of restarting it")
    p.add_argument("--ready-timeout", type=float, default=180.0,
                   help="seconds to wait for the app processes to start (default %(default)s)")
    p.add_argument("--print-nginx-config", action="store_true",
                   help="print the nginx config this command would use, and exit")
    p.add_argument("--compose", action="store_true",
                   help="with --print-nginx-config: the config for deploy/docker-compose.yml "
                        "(how deploy/nginx/nginx.conf is made)")
    return p


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    own, extra = split_extra(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(own)
    if args.processes < 1:
        raise SystemExit("python -m app.room_mode: --processes must be at least 1")
    for name in ("port", "first_backend_port"):
        if not 0 < getattr(args, name) < 65536:
            raise SystemExit(f"python -m app.room_mode: --{name.replace('_', '-')} must be a port number")
    if args.first_backend_port <= args.port < args.first_backend_port + args.processes:
        raise SystemExit("python -m app.room_mode: --port falls among the app processes' ports; "
                         "choose another --port or --first-backend-port")
    args.extra = extra
    return args


def backend_ports_from(first: int, processes: int) -> list[int]:
    return [first + i for i in range(processes)]


def listen_address(host: str, port: int) -> str:
    """nginx `listen` value: 127.0.0.1:8080, [::]:8080; 0.0.0.0 becomes a bare port (all IPv4)."""
    if host in ("", "0.0.0.0", "*"):
        return str(port)
    if ":" in host and not host.startswith("["):
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def nginx_modules_without(nginx_v_output: str) -> set[str]:
    """Modules compiled out of this nginx, from `nginx -V` (e.g. {"http_uwsgi"})."""
    return set(re.findall(r"--without-([a-z0-9_]+?)_module", nginx_v_output))


def temp_path_lines(rundir: str | Path, without: set[str] = frozenset()) -> list[str]:
    """One `*_temp_path` line per temp folder this nginx has, all inside `rundir`."""
    return [f"{directive} {Path(rundir) / 'tmp' / folder};"
            for directive, folder, module in _TEMP_PATHS if module is None or module not in without]


def render_nginx_conf(template: str, *, backends: Sequence[tuple[str, int]], listen: str, main: Sequence[str],
                      http_paths: Sequence[str] = (), workers: int | str = 1, header: Sequence[str] = (),
                      fail_timeout_s: int = 5) -> str:
    """Fill deploy/nginx/room.conf.template.

    backends: (host, port) per app process, in order; listen: nginx `listen` value; main: top-level
    lines (pid, error_log, user); http_paths: lines inside `http {}` (temp paths); header: comment lines
    saying where this copy comes from. A block placeholder
    (alone on its line) takes one line per value at that line's indentation; an empty block leaves no
    line behind. Every placeholder must be filled.
    """
    if not backends:
        raise ValueError("at least one backend")
    servers = [f"server {host}:{port} max_fails=1 fail_timeout={fail_timeout_s}s;" for host, port in backends]
    values: dict[str, Sequence[str] | str] = {
        "HEADER": [f"# {line}".rstrip() for line in header],
        "MAIN": list(main), "HTTP_PATHS": list(http_paths), "UPSTREAM_SERVERS": servers,
        "LISTEN": listen, "WORKERS": str(workers)}

    def block(m: re.Match) -> str:
        indent, name = m.group(1), m.group(2)
        value = values.get(name)
        if not isinstance(value, list):
            return m.group(0)
        return "\n".join(indent + line for line in value) if value else "\x00"

    text = _BLOCK_PLACEHOLDER.sub(block, template)
    text = re.sub(r"\x00\n?", "", text)

    def inline(m: re.Match) -> str:
        value = values.get(m.group(1))
        if not isinstance(value, str):
            raise ValueError(f"unknown or misplaced placeholder @@{m.group(1)}@@ in the nginx template")
        return value

    return _PLACEHOLDER.sub(inline, text)


def room_main_lines(rundir: str | Path, *, euid: int | None = None) -> list[str]:
    """Top-level lines for a local room: pid and log in the run directory; as root, workers run as
    `nobody` (nginx's default, named explicitly: the master chowns the temp folders to it)."""
    rundir = Path(rundir)
    lines = [f"pid {rundir / 'nginx.pid'};", f"error_log {rundir / 'nginx.log'} warn;"]
    if (os.geteuid() if euid is None else euid) == 0:
        import grp
        import pwd

        try:
            nobody = pwd.getpwnam("nobody")
            lines.insert(0, f"user nobody {grp.getgrgid(nobody.pw_gid).gr_name};")
        except KeyError:
            lines.insert(0, "user root;")
    return lines


def room_nginx_conf(template: str, *, rundir: str | Path, host: str, port: int, backend_ports: Sequence[int],
                    without: set[str] = frozenset(), euid: int | None = None) -> str:
    """The config `python -m app.room_mode` writes: loopback backends, everything else in `rundir`."""
    return render_nginx_conf(template, backends=[("127.0.0.1", p) for p in backend_ports],
                             listen=listen_address(host, port), main=room_main_lines(rundir, euid=euid),
                             http_paths=temp_path_lines(rundir, without), workers=1,
                             header=["This copy: written by python -m app.room_mode for one run; removed when it stops."])


def compose_nginx_conf(template: str, replicas: int = 2) -> str:
    """deploy/nginx/nginx.conf: the official nginx image, compose services app1..appN on port 8501."""
    return render_nginx_conf(template, backends=[(f"app{i + 1}", 8501) for i in range(replicas)],
                             listen="8080", main=["user nginx;", "pid /var/run/nginx.pid;",
                                                  "error_log stderr warn;"],
                             http_paths=[], workers="auto",
                             header=["This copy: deploy/docker-compose.yml's proxy, for services app1..app"
                                     f"{replicas} (port 8501). Do not edit it;",
                                     "edit the template and run: python -m app.room_mode --print-nginx-config --compose "
                                     f"--processes {replicas} > deploy/nginx/nginx.conf"])


def nginx_command(nginx: str, rundir: str | Path) -> list[str]:
    rundir = Path(rundir)
    return [nginx, "-p", f"{rundir}/", "-c", str(rundir / "nginx.conf"), "-g", "daemon off;"]


def streamlit_command(port: int, extra: Sequence[str] = (), python: str = sys.executable) -> list[str]:
    return [python, "-m", "app.serve", "--server.port", str(port), "--server.address", "127.0.0.1",
            "--server.headless", "true", *extra]


def share_url(host: str, port: int) -> str:
    """The address to give people: this machine's LAN address when listening on all interfaces."""
    if host in ("", "0.0.0.0", "*", "::"):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect(("10.255.255.255", 1))  # picks the outgoing interface; sends nothing
                host = s.getsockname()[0]
        except OSError:
            host = socket.gethostname()
    return f"http://{host}:{port}/" if ":" not in host else f"http://[{host}]:{port}/"


# ---------------------------------------------------------------------------------------------
# Running it


def find_nginx(preferred: str | None = None) -> str | None:
    """Path of an nginx binary: `preferred` if executable, else on PATH, else the usual places."""
    for path in (preferred, shutil.which("nginx"), *NGINX_CANDIDATES):
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host if host not in ("", "*") else "0.0.0.0", port))
        except OSError:
            return True
    return False


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via http_proxy


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with _DIRECT.open(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""


def _healthy(url: str) -> bool:
    try:
        return http_get(url + HEALTH_PATH, timeout=2.0) == (200, b"ok")
    except (OSError, ValueError):
        return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join("    " + line for line in text[-lines:])


# Linux: each child gets SIGTERM if the launcher dies without cleaning up (even SIGKILL), so no
# orphan keeps a port. prctl(PR_SET_PDEATHSIG) survives exec; it fires when the *thread* that
# started the child ends, which is why every child is started from the room's supervisor thread.
_PDEATHSIG_SHIM = ("import ctypes,os,signal,sys\n"
                   "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)\n"
                   "if os.getppid() != int(sys.argv[1]): os._exit(1)\n"
                   "os.execv(sys.argv[2], sys.argv[2:])")


def _with_parent_death_signal(argv: list[str]) -> list[str]:
    if not sys.platform.startswith("linux"):
        return argv
    exe = argv[0] if os.path.isabs(argv[0]) else (shutil.which(argv[0]) or argv[0])
    return [sys.executable, "-c", _PDEATHSIG_SHIM, str(os.getpid()), exe, *argv[1:]]


@dataclass
class _Backend:
    index: int
    port: int
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    quick_deaths: int = 0
    restart_at: float | None = None
    log: Path = field(default_factory=Path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Room:
    """N app processes + nginx. Use `start_room(...)`; `stop()` is idempotent and also runs at exit."""

    def __init__(self, processes: int = 2, port: int | None = None, first_backend_port: int | None = None,
                 host: str = "127.0.0.1", nginx: str | None = DEFAULT_NGINX, extra_args: Sequence[str] = (),
                 env: dict[str, str] | None = None, restart: bool = True, ready_timeout: float = 180.0,
                 log: Callable[[str], None] | None = None):
        if processes < 1:
            raise ValueError("processes must be at least 1")
        found = find_nginx(nginx) if nginx in (None, DEFAULT_NGINX) else (nginx if find_nginx(nginx) == nginx else None)
        if found is None:
            raise RoomError(f"nginx is not installed. {INSTALL_HINT}" if nginx in (None, DEFAULT_NGINX) else
                            f"no nginx at {nginx} (missing or not executable). {INSTALL_HINT}")
        self.nginx = found
        self.host = host
        self.port = port if port is not None else free_port()
        ports = (backend_ports_from(first_backend_port, processes) if first_backend_port is not None
                 else self._free_ports(processes))
        self.backend_ports: list[int] = ports
        self.extra_args = list(extra_args)
        self.restart = restart
        self.ready_timeout = ready_timeout
        self._log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        child_env = dict(os.environ)
        child_env.update(env or {})
        child_env.setdefault(SECRET_ENV, secrets.token_hex(32))
        child_env.update({"PYTHONUNBUFFERED": "1", "STREAMLIT_SERVER_HEADLESS": "true",
                          "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"})
        self.env = child_env
        self.rundir: Path | None = None  # made by start(): config, pid, logs, nginx temp folders
        self._backends = [_Backend(i, p) for i, p in enumerate(ports)]
        self._nginx_proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._calls: queue.Queue = queue.Queue()
        self._stopping = threading.Event()
        self._stopped = False
        self._supervisor: threading.Thread | None = None
        self.failure: str | None = None  # set when nginx itself stops unexpectedly

    @staticmethod
    def _free_ports(n: int) -> list[int]:
        ports: list[int] = []
        while len(ports) < n:
            p = free_port()
            if p not in ports:
                ports.append(p)
        return ports

    # -- public surface ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "*": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        if ":" in host:
            host = f"[{host.strip('[]')}]"
        return f"http://{host}:{self.port}"

    @property
    def nginx_pid(self) -> int | None:
        return self._nginx_proc.pid if self._nginx_proc else None

    def backend_pids(self) -> list[int | None]:
        with self._lock:
            return [b.proc.pid if b.proc and b.proc.poll() is None else None for b in self._backends]

    def restarts(self) -> list[int]:
        return [b.restarts for b in self._backends]

    def kill_backend(self, i: int) -> None:
        """SIGKILL backend i's process group, as a crash would (restarted by the supervisor when restart=True)."""
        with self._lock:
            proc = self._backends[i].proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)

    def wait_backend_healthy(self, i: int, timeout: float = 60.0) -> bool:
        """True once backend i answers its health check (e.g. after a restart)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.backend_pids()[i] is not None and _healthy(self._backends[i].url):
                return True
            time.sleep(0.2)
        return False

    def start(self) -> Room:
        _raise_fd_limit()
        self.rundir = Path(tempfile.mkdtemp(prefix="rwkv-room-"))
        os.chmod(self.rundir, 0o755)  # as root, nginx workers (nobody) reach their temp folders in here
        for b in self._backends:
            b.log = self.rundir / f"app-{b.port}.log"
        self._supervisor = threading.Thread(target=self._supervise, name="room-supervisor", daemon=True)
        self._supervisor.start()
        atexit.register(self.stop)
        try:
            for port in self.backend_ports:
                if port_in_use(port):
                    raise RoomError(f"port {port} is already in use (an app process needs it); "
                                    "choose another --first-backend-port")
            if port_in_use(self.port, self.host):
                raise RoomError(f"port {self.port} is already in use; choose another --port")
            for b in self._backends:
                self._in_supervisor(lambda b=b: self._spawn_backend(b))
            self._wait_ready()
            self._write_nginx_conf()
            self._in_supervisor(self._spawn_nginx)
            self._wait_nginx()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop nginx, then every app process (SIGTERM to each process group, SIGKILL after 10 s)."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        if self._supervisor is not None and self._supervisor is not threading.current_thread():
            self._supervisor.join(timeout=5)
        with self._lock:
            procs = [p for p in [self._nginx_proc] + [b.proc for b in self._backends] if p is not None]
        for proc in procs:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
            _signal_group(proc, signal.SIGKILL)  # anything left in its group (e.g. nginx workers)
        if self.rundir is not None:
            shutil.rmtree(self.rundir, ignore_errors=True)
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)

    def __enter__(self) -> Room:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- internals --------------------------------------------------------------------------------

    def _in_supervisor(self, fn: Callable[[], object]) -> object:
        """Run fn in the supervisor thread (children's parent-death signal is tied to that thread)."""
        fut: Future = Future()
        self._calls.put((fn, fut))
        return fut.result(timeout=60)

    def _spawn_backend(self, b: _Backend) -> None:
        log = open(b.log, "ab")
        try:
            proc = subprocess.Popen(_with_parent_death_signal(streamlit_command(b.port, self.extra_args)),
                                    cwd=REPO, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()
        with self._lock:
            b.proc, b.started_at, b.restart_at = proc, time.monotonic(), None

    def _spawn_nginx(self) -> None:
        log = open(self.rundir / "nginx.log", "ab")
        try:
            self._nginx_proc = subprocess.Popen(
                _with_parent_death_signal(nginx_command(self.nginx, self.rundir)), cwd=self.rundir,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        pending = list(self._backends)
        while pending:
            for b in list(pending):
                code = b.proc.poll() if b.proc else None
                if code is not None:
                    raise RoomError(f"app process on port {b.port} stopped while starting (exit code {code}). "
                                    f"Its last lines:\n{_tail(b.log)}")
                if _healthy(b.url):
                    pending.remove(b)
            if pending and time.monotonic() > deadline:
                raise RoomError(f"app processes on ports {', '.join(str(b.port) for b in pending)} did not "
                                f"answer {HEALTH_PATH} within {self.ready_timeout:.0f} s. Last lines:\n"
                                + "\n".join(_tail(b.log) for b in pending))
            if pending:
                time.sleep(0.25)

    def _write_nginx_conf(self) -> None:
        try:
            version = subprocess.run([self.nginx, "-V"], capture_output=True, text=True, timeout=10).stderr
        except (OSError, subprocess.TimeoutExpired) as e:
            raise RoomError(f"could not run {self.nginx}: {e}") from e
        conf = room_nginx_conf(TEMPLATE.read_text(encoding="utf-8"), rundir=self.rundir, host=self.host,
                               port=self.port, backend_ports=self.backend_ports,
                               without=nginx_modules_without(version))
        (self.rundir / "tmp").mkdir(mode=0o755, exist_ok=True)  # nginx makes the folders inside
        (self.rundir / "nginx.conf").write_text(conf, encoding="utf-8")

    def _wait_nginx(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._nginx_proc.poll() is not None:
                raise RoomError(f"nginx stopped at start (exit code {self._nginx_proc.returncode}):\n"
                                f"{_tail(self.rundir / 'nginx.log')}")
            if _healthy(self.url):
                return
            time.sleep(0.1)
        raise RoomError(f"nginx did not answer on {self.url} within 15 s:\n{_tail(self.rundir / 'nginx.log')}")

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            try:
                fn, fut = self._calls.get(timeout=0.2)
            except queue.Empty:
                pass
            else:
                try:
                    fut.set_result(fn())
                except BaseException as e:  # handed to the caller
                    fut.set_exception(e)
            try:
                self._check_children()
            except Exception as e:  # the supervisor never dies quietly
                self._log(f"room: supervisor error: {e!r}")

    def _check_children(self) -> None:
        now = time.monotonic()
        if self._nginx_proc is not None and self._nginx_proc.poll() is not None and self.failure is None:
            self.failure = (f"nginx stopped unexpectedly (exit code {self._nginx_proc.returncode}):\n"
                            f"{_tail(self.rundir / 'nginx.log')}")
            self._log(f"room: {self.failure}")
        for b in self._backends:
            if b.proc is None or self._stopping.is_set():
                continue
            if b.restart_at is None:
                code = b.proc.poll()
                if code is None:
                    if now - b.started_at > 60:
                        b.quick_deaths = 0
                    continue
                how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
                if not self.restart:
                    self._log(f"room: app process {b.index + 1} (port {b.port}) stopped ({how}); "
                              "not restarting it (--no-restart). nginx sends its visitors to the others.")
                    b.restart_at = float("inf")
                    continue
                b.quick_deaths = b.quick_deaths + 1 if now - b.started_at < 30 else 0
                delay = min(30.0, 2.0 ** b.quick_deaths - 1)
                self._log(f"room: app process {b.index + 1} (port {b.port}) stopped ({how}). Its visitors "
                          f"are moved to the other processes; restarting it on the same port"
                          + (f" in {delay:.0f} s" if delay >= 1 else "") + ".")
                if code > 0:
                    self._log(f"room: its last lines:\n{_tail(b.log)}")
                b.restart_at = now + delay
            if b.restart_at is not None and now >= b.restart_at:
                try:
                    self._spawn_backend(b)
                except OSError as e:
                    self._log(f"room: could not restart app process {b.index + 1} (port {b.port}): {e}; "
                              "trying again in 5 s.")
                    b.restart_at = now + 5
                    continue
                b.restarts += 1


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _raise_fd_limit(target: int = 8192) -> None:
    """Each participant holds a few sockets in nginx and in an app process; 1024 is tight for 200."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = target if hard == resource.RLIM_INFINITY else min(target, hard)
        if soft != resource.RLIM_INFINITY and soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except (ImportError, ValueError, OSError):
        pass


@contextlib.contextmanager
def start_room(processes: int = 2, port: int | None = None, first_backend_port: int | None = None,
               nginx: str | None = DEFAULT_NGINX, extra_args: Sequence[str] = (), env: dict[str, str] | None = None,
               restart: bool = True, host: str = "127.0.0.1", ready_timeout: float = 180.0,
               log: Callable[[str], None] | None = None) -> Iterator[Room]:
    """A running room for the duration of the `with` block (free ports where None); stopped after."""
    room = Room(processes=processes, port=port, first_backend_port=first_backend_port, host=host, nginx=nginx,
                extra_args=extra_args, env=env, restart=restart, ready_timeout=ready_timeout, log=log)
    room.start()
    try:
        yield room
    finally:
        room.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.print_nginx_config:
        template = TEMPLATE.read_text(encoding="utf-8")
        if args.compose:
            print(compose_nginx_conf(template, replicas=args.processes), end="")
        else:
            rundir = Path(tempfile.gettempdir()) / "rwkv-room-XXXX"
            print(room_nginx_conf(template, rundir=rundir, host=args.host, port=args.port,
                                  backend_ports=backend_ports_from(args.first_backend_port, args.processes)), end="")
        return 0

    stop = threading.Event()
    got: list[int] = []

    def on_signal(signum, _frame):
        got.append(signum)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    try:
        room = Room(processes=args.processes, port=args.port, first_backend_port=args.first_backend_port,
                    host=args.host, nginx=args.nginx, extra_args=args.extra, restart=args.restart,
                    ready_timeout=args.ready_timeout)
        print(f"room: starting {args.processes} app process(es) on port(s) "
              f"{', '.join(map(str, room.backend_ports))} behind {room.nginx} (about 5-20 s)...", flush=True)
        room.start()
    except RoomError as e:
        print(f"room: could not start: {e}", file=sys.stderr, flush=True)
        return 1
    try:
        ports = ",".join(str(p) for p in room.backend_ports)
        print(f"ROOM READY {room.url} processes={args.processes} backends={ports}", flush=True)
        if args.host in ("127.0.0.1", "localhost", "::1"):
            print(f"room: open {share_url(args.host, args.port)} on this computer. Only this computer can reach "
                  "it; to let the room in, start with --host 0.0.0.0 (and allow the port through the firewall).",
                  flush=True)
        else:
            print(f"room: share this address with the room: {share_url(args.host, args.port)}", flush=True)
        print("room: a link like /read-along?prompt=...&step=3 opens the same view for everyone.", flush=True)
        print("room: press Ctrl-C to stop (closes nginx and every app process).", flush=True)
        while not stop.wait(0.5):
            if room.failure:
                print(f"room: stopping: {room.failure}", file=sys.stderr, flush=True)
                return 1
        print("room: stopping...", flush=True)
        return 0
    finally:
        room.stop()
        if got:
            print("room: stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())

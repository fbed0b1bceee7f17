"""What the local servers lineage-graph runs from Maven jars share (the managed Neo4j, the
managed Kafka broker): finding Java, resolving jars once into a cache, private files, and
watching a process and its port.

The caller names its product and passes its own error class, so a failure reads as "Neo4j
needs Java 17" or "downloading Kafka failed", never as a generic helper's words.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from lineage_graph.errors import LineageGraphError
from lineage_graph.private_files import exclusive_lock, write_private

MIN_JAVA = 17
PRIVATE_UMASK = 0o077


@dataclass(frozen=True)
class ServerProcess:
    """A background JVM this project starts: where its pid and console output go, and how to
    tell it from another process that reuses its pid after a reboot (its main class, and an
    argument only this instance's command line has)."""

    product: str  # for messages: "Neo4j", "Kafka"
    pid_file: Path
    console_log: Path
    main_class: str
    marker: str
    error: type[LineageGraphError]

    def ensure_running(self, port: int, port_name: str, timeout_s: float,
                       start: Callable[[], None]) -> None:
        """Call ``start`` unless this instance's server runs; either way return once ``port``
        accepts connections. One start at a time per instance (a lock file): a second caller
        waits, then finds the first one's server, perhaps still starting, and waits for its
        port instead of starting another on the same files."""
        with exclusive_lock(self.pid_file.with_suffix(".lock")):
            pid = self.running_pid()
            if pid is None:
                start()
            else:
                self.await_port(lambda: alive(pid), port, port_name, timeout_s)

    def running_pid(self) -> int | None:
        pid = read_pid(self.pid_file)
        if pid is None or not alive(pid):
            return None
        argv = command_line(pid)
        return pid if self.main_class in argv and self.marker in argv else None

    def stop(self, timeout_s: float) -> bool:
        """SIGTERM, then SIGKILL after ``timeout_s``; only ever to this instance's process.
        True if it ran."""
        pid = self.running_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)  # stale: never signal someone else's process
            return False
        stop(pid, timeout_s)
        self.pid_file.unlink(missing_ok=True)
        return True

    def launch(self, cmd: list[str], port: int, port_name: str, timeout_s: float,
               env: dict[str, str] | None = None) -> None:
        """Start ``cmd`` in its own session, output appended to the console log (private
        files), and wait until it listens on ``port``; ``error`` when it exits or times out."""
        fd = os.open(self.console_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "ab") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=env, start_new_session=True,
                                    umask=PRIVATE_UMASK)
        write_private(self.pid_file, str(proc.pid))
        self.await_port(lambda: proc.poll() is None, port, port_name, timeout_s,
                        lambda: self.pid_file.unlink(missing_ok=True))

    def await_port(self, running: Callable[[], bool], port: int, port_name: str,
                   timeout_s: float, on_exit: Callable[[], None] = lambda: None) -> None:
        """Wait until ``port`` accepts connections while the process still runs (one that an
        earlier ``up`` started may still be starting: waiting beats starting a second)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not running():
                on_exit()
                raise self.error(
                    f"{self.product} exited during start-up: "
                    f"{last_error_line(tail(self.console_log))}; see {self.console_log}")
            if port_open(port):
                return
            time.sleep(0.25)
        raise self.error(f"{self.product} did not open {port_name} on port {port} within "
                         f"{timeout_s:.0f}s; see {self.console_log}")


def packaged_pom(package: str, placeholder: str, version: str) -> str:
    """The ``pom.xml`` shipped in ``package``, its ``placeholder`` replaced by ``version``."""
    template = resources.files(package).joinpath("pom.xml").read_text()
    return template.replace(placeholder, version)


def jar_dir(cache: Path, pom_text: str) -> Path:
    """Where the jars of ``pom_text`` live under ``cache``: named by the pom's digest, so a
    change of dependencies resolves a new set and never deletes jars a running server uses."""
    digest = hashlib.sha256(pom_text.encode("utf-8")).hexdigest()[:12]
    return cache / f"lib-{digest}"


def resolve_jars(pom_text: str, lib_dir: Path, product: str, error: type[LineageGraphError],
                 fallback: str, progress: bool = True) -> Path:
    """Resolve the runtime dependencies of ``pom_text`` with Maven into ``lib_dir``, once.

    ``fallback`` ends every error message: what the user can do instead (e.g. "set NEO4J_URI
    to an existing Neo4j")."""
    marker = lib_dir / ".complete"
    if marker.exists():
        return lib_dir
    mvn = shutil.which("mvn")
    if mvn is None:
        raise error(f"Maven (mvn) is not installed: install Maven 3.6+ to let lineage-graph "
                    f"fetch {product}, or {fallback}")
    lib_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=lib_dir.parent) as tmp:
        pom = Path(tmp) / "pom.xml"
        pom.write_text(pom_text)
        out = Path(tmp) / "lib"
        if progress:
            print(f"Fetching {product} jars with Maven (once)...")
        proc = subprocess.run(
            [mvn, "-B", "-q", "-f", str(pom), "dependency:copy-dependencies",
             f"-DoutputDirectory={out}", "-DincludeScope=runtime"],
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0 or not out.is_dir():
            raise error(f"downloading {product} with Maven failed "
                        f"({last_error_line(proc.stdout + proc.stderr)}); check that Maven "
                        f"Central is reachable, or {fallback}")
        (out / ".complete").write_text(product)
        # Another process may have finished the same set meanwhile: keep theirs.
        if not marker.exists():
            shutil.rmtree(lib_dir, ignore_errors=True)
            out.rename(lib_dir)
    return lib_dir


def require_java(product: str, error: type[LineageGraphError], fallback: str) -> str:
    """The path of a Java ``MIN_JAVA``+ runtime, or ``error`` saying what to install."""
    java = shutil.which("java")
    if java is None:
        raise error(f"Java is not installed: install a JDK {MIN_JAVA} "
                    f"(e.g. openjdk-17-jre-headless) or {fallback}")
    proc = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)', proc.stderr + proc.stdout)
    major = int(match.group(1)) if match else 0
    if major < MIN_JAVA:
        raise error(f"{product} needs Java {MIN_JAVA}+, found {major or 'an unknown version'} "
                    f"at {java}; install a JDK 17 or {fallback}")
    return java


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def command_line(pid: int) -> list[str]:
    """The argv of a live process (empty when it is gone or unreadable)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().decode("utf-8", "replace").split("\0")
    except OSError:
        return []


def stop(pid: int, timeout_s: float) -> None:
    """SIGTERM (a clean shutdown), then SIGKILL when ``pid`` still runs after ``timeout_s``."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.2)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still "exists"; treat it as gone.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def tail(path: Path, size: int = 8192) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - size))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


def last_error_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for line in reversed(lines):
        if "ERROR" in line or "Exception" in line or "error" in line:
            return line[:300]
    return lines[-1][:300] if lines else "no output"

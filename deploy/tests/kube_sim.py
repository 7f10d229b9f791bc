"""A `kube-sim` process (the project's Kubernetes API simulator) for the deploy tests, and
`kubectl` run against it.

The binary is `KUBE_SIM_BIN` (set by tests/tests/chart.rs, built by the same cargo run as the
`reloader` binary), else `target/release/kube-sim`, built if missing."""

import os
import subprocess
import tempfile
from pathlib import Path

import yaml

from chart_support import REPO

KUBE_SIM = Path(os.environ.get("KUBE_SIM_BIN") or REPO / "target" / "release" / "kube-sim")
# Bounds every kubectl call, so a wedged simulator fails the test instead of hanging it.
KUBECTL_TIMEOUT_SECONDS = 60


def kube_sim_binary():
    """The release `kube-sim` binary, built if missing."""
    if not KUBE_SIM.exists():
        subprocess.run(
            ["cargo", "build", "--release", "-p", "reload-tests", "--bin", "kube-sim"],
            cwd=REPO,
            check=True,
        )
    return KUBE_SIM


def manifest(docs):
    """A multi-document YAML stream of `docs`."""
    return "---\n".join(yaml.safe_dump(doc, sort_keys=False) for doc in docs)


class KubeSim:
    """A running `kube-sim` on 127.0.0.1 with its own kubeconfig; a context manager that stops
    the process (SIGTERM, then SIGKILL) on exit."""

    def __init__(self):
        self.directory = tempfile.TemporaryDirectory(prefix="kube-sim-")
        self.kubeconfig = Path(self.directory.name) / "kubeconfig.yaml"
        self.process = subprocess.Popen(
            [str(kube_sim_binary()), "--listen", "127.0.0.1:0", "--kubeconfig", str(self.kubeconfig)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        # The first stdout line is printed once the kubeconfig is written and the port bound.
        line = self.process.stdout.readline()
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"kube-sim did not start (first line {line!r})")
        self.url = line.removeprefix("listening on ").strip()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self.directory.cleanup()

    def kubectl(self, *arguments, stdin=None):
        """Runs `kubectl` against the simulator; returns the CompletedProcess (text)."""
        return subprocess.run(
            ["kubectl", *arguments],
            input=stdin,
            env={**os.environ, "KUBECONFIG": str(self.kubeconfig), "KUBECTL_COMMAND_HEADERS": "false"},
            capture_output=True,
            text=True,
            timeout=KUBECTL_TIMEOUT_SECONDS,
            check=False,
        )

    def served_kinds(self):
        """{(apiVersion, kind)} the simulator serves, from `kubectl api-resources`."""
        process = self.kubectl("api-resources", "--no-headers")
        if process.returncode != 0:
            raise RuntimeError(f"kubectl api-resources failed: {process.stderr}")
        kinds = set()
        for line in process.stdout.splitlines():
            # NAME [SHORTNAMES] APIVERSION NAMESPACED KIND: read from the right (short names may be empty).
            fields = line.split()
            if len(fields) >= 4:
                kinds.add((fields[-3], fields[-1]))
        return kinds

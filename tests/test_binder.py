"""binder/: what a Binder launch of this repository sets up, checked on a real JupyterLab server."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import ROOT
from .test_browser import _free_port, _wait_http

BINDER = ROOT / "binder"
MEM_LIMIT = 2 * 1024**3  # what Binder gives a session, in $MEM_LIMIT


def install_settings(prefix: Path) -> None:
    """binder/install_settings, as postBuild runs it, into a Python prefix of the test's own."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    subprocess.run(["bash", str(BINDER / "install_settings"), str(prefix)], env=env, check=True)


def test_postbuild_puts_the_settings_where_jupyterlab_and_jupyter_server_read_them(tmp_path):
    from jupyter_core.paths import jupyter_config_path
    from jupyterlab.commands import get_app_dir

    # postBuild gives install_settings the prefix of the Python that runs JupyterLab
    postbuild = (BINDER / "postBuild").read_text()
    assert "bash binder/install_settings \"$(python -c 'import sys; print(sys.prefix)')\"" in postbuild
    assert Path(get_app_dir()) == Path(sys.prefix) / "share" / "jupyter" / "lab"  # overrides: {app dir}/settings
    assert str(Path(sys.prefix) / "etc" / "jupyter") in jupyter_config_path()  # {prefix}/etc/jupyter: a config dir
    # an image's own server settings are kept: binder's are merged into its file
    (tmp_path / "etc" / "jupyter").mkdir(parents=True)
    server = tmp_path / "etc" / "jupyter" / "jupyter_server_config.json"
    server.write_text(json.dumps({"ServerApp": {"shutdown_no_activity_timeout": 7}, "MappingKernelManager": {}}))
    install_settings(tmp_path)
    assert json.loads((tmp_path / "share/jupyter/lab/settings/overrides.json").read_text()) == json.loads(
        (BINDER / "overrides.json").read_text()
    )
    expected = json.loads((BINDER / "jupyter_server_config.json").read_text())
    assert json.loads(server.read_text()) == {"ServerApp": {"shutdown_no_activity_timeout": 7}, **expected}


@pytest.fixture(scope="module")
def binder_lab(tmp_path_factory):
    """JupyterLab started with binder/'s settings installed where it reads them (a prefix of its own, on
    JUPYTER_CONFIG_PATH), none of the user's, and a memory limit in $MEM_LIMIT as on Binder; its log at --debug.
    Yields a function that requests one of its paths (method, body) and the log's path."""
    tmp = tmp_path_factory.mktemp("binder-lab")
    prefix = tmp / "prefix"
    install_settings(prefix)
    env = dict(os.environ, JUPYTER_CONFIG_PATH=str(prefix / "etc" / "jupyter"), MEM_LIMIT=str(MEM_LIMIT))
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR"):
        env[name] = str(tmp / name.lower())
    port, token = _free_port(), secrets.token_hex(16)
    argv = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", "--debug"]
    argv += [f"--ServerApp.port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp}"]
    argv += [f"--LabApp.app_settings_dir={prefix / 'share/jupyter/lab/settings'}", "--allow-root"]
    log_path = tmp / "lab.log"

    def request(path: str, method: str = "GET", body: dict | None = None) -> bytes:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
        req.add_header("Authorization", f"token {token}")
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.read()

    with open(log_path, "w") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_http(f"http://127.0.0.1:{port}/api/status?token={token}", proc)
            yield request, log_path
        finally:
            proc.terminate()
            proc.wait(30)


def setting_defaults(request, plugin: str) -> dict:
    """A JupyterLab plugin's settings' defaults, as the server gives them (overrides.json applied)."""
    schema = json.loads(request(f"/lab/api/settings/{plugin}"))["schema"]
    return {name: spec.get("default") for name, spec in schema["properties"].items()}


def test_jupyterlab_with_binders_settings_does_not_ask_about_news(binder_lab):
    request, _ = binder_lab
    defaults = setting_defaults(request, "@jupyterlab/apputils-extension:notification")
    assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False, defaults


def test_jupyterlab_with_binders_settings_saves_no_widget_state_into_notebooks(binder_lab):
    # the widget manager's own default is false today: binder/ says so, whatever a later version defaults to
    plugin = "@jupyter-widgets/jupyterlab-manager:plugin"
    assert json.loads((BINDER / "overrides.json").read_text())[plugin] == {"saveState": False}
    request, _ = binder_lab
    assert setting_defaults(request, plugin)["saveState"] is False


def test_the_server_with_binders_settings_shuts_down_kernels_idle_for_20_minutes(binder_lab):
    """The running server's kernel manager says how it culls when its first kernel starts (at --debug's log)."""
    request, log_path = binder_lab
    kernel = json.loads(request("/api/kernels", "POST", {"name": "python3"}))
    try:
        deadline, log = time.time() + 60, ""
        while time.time() < deadline and "Culling kernels even with connected clients" not in log:
            time.sleep(0.3)
            log = log_path.read_text()
    finally:
        request(f"/api/kernels/{kernel['id']}", "DELETE")
    assert "Culling kernels with idle durations > 1200 seconds at 120 second intervals" in log, log[-3000:]
    assert "Culling kernels even with connected clients" in log, log[-3000:]
    assert "Culling kernels even if busy" not in log


def test_the_server_with_binders_settings_reports_memory_against_the_sessions_limit(binder_lab):
    request, _ = binder_lab
    metrics = json.loads(request("/api/metrics/v1"))  # what the status bar's indicator shows
    assert metrics["limits"]["memory"]["rss"] == MEM_LIMIT, metrics  # $MEM_LIMIT, read by default
    assert metrics["rss"] > 0 and "cpu_percent" in metrics, metrics
    # its front end is a prebuilt extension, loaded by the page as installed (no `jupyter lab build`)
    assert b'"@jupyter-server/resource-usage"' in request("/lab")

"""binder/: what a Binder launch of this repository sets up, checked on a real JupyterLab server."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

from .conftest import ROOT
from .test_browser import _free_port, _wait_http


def test_postbuild_puts_the_settings_where_jupyterlab_reads_its_overrides():
    from jupyterlab.commands import get_app_dir

    assert Path(get_app_dir()) == Path(sys.prefix) / "share" / "jupyter" / "lab"  # where postBuild asks Python
    assert "/share/jupyter/lab/settings" in (ROOT / "binder" / "postBuild").read_text()


def test_jupyterlab_with_binders_settings_does_not_ask_about_news(tmp_path):
    """JupyterLab started with binder/'s overrides and no settings of the user's: the news prompt is off."""
    settings = tmp_path / "app-settings"
    settings.mkdir()
    shutil.copy(ROOT / "binder" / "overrides.json", settings / "overrides.json")
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR"):
        env[name] = str(tmp_path / name.lower())
    port, token = _free_port(), secrets.token_hex(16)
    argv = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1"]
    argv += [f"--ServerApp.port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}"]
    argv += [f"--LabApp.app_settings_dir={settings}", "--allow-root"]
    with open(tmp_path / "lab.log", "w") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_http(f"http://127.0.0.1:{port}/api/status?token={token}", proc)
            plugin = "@jupyterlab/apputils-extension:notification"
            url = f"http://127.0.0.1:{port}/lab/api/settings/{plugin}?token={token}"
            with urllib.request.urlopen(url, timeout=30) as response:
                schema = json.load(response)["schema"]  # its defaults, as the overrides made them
        finally:
            proc.terminate()
            proc.wait(30)
    defaults = {name: spec.get("default") for name, spec in schema["properties"].items()}
    assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False, defaults

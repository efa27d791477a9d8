"""Mounting the JSON API (/api) and the /ui page on the HTTP listener."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from leasedns.api.http_api import Api, ApiResource, UiResource
from leasedns.config import Config
from leasedns.server.core import ServerCore


def install_api(core: ServerCore, cfg: Config) -> Api:
    """Explanations say "10:02" in the server's local time zone."""
    tz = datetime.now().astimezone().tzinfo or UTC
    api = Api(core, cfg, clock=time.time, tz=tz)
    core.http_children[b"api"] = ApiResource(api)
    core.http_children[b"ui"] = UiResource(api)
    return api

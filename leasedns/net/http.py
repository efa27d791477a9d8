"""HTTP listener (twisted.web): /metrics for Prometheus; the JSON API mounts here too."""

from __future__ import annotations

from prometheus_client.twisted import MetricsResource
from twisted.web.resource import Resource
from twisted.web.server import Site

from leasedns.metrics import registry_for
from leasedns.server.core import ServerCore


class _Root(Resource):
    def render_GET(self, request):  # type: ignore[no-untyped-def]
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"leasedns: see /metrics\n"


def make_site(core: ServerCore) -> Site:
    root = _Root()
    root.putChild(b"metrics", MetricsResource(registry=registry_for(core)))
    for path, resource in core.http_children.items():
        root.putChild(path, resource)
    site = Site(root)
    site.displayTracebacks = False
    return site

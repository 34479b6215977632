"""Reflex configuration. Everything a deployment changes comes from the environment
(REFLEX_DB_URL, REFLEX_REDIS_URL, CARESPACE_*; see README)."""
import os

import reflex as rx
from reflex.plugins.sitemap import SitemapPlugin
from reflex_components_radix.plugin import RadixThemesPlugin

from carespace_app.config import default_database_url
from carespace_app.disk_states import sweep_disk_states_once_a_minute
from carespace_app.workers import enable_worker_respawn

enable_worker_respawn()
sweep_disk_states_once_a_minute()

_port = int(os.environ.get("PORT", "3000"))
_base_url = os.environ.get("CARESPACE_BASE_URL", f"http://localhost:{_port}").rstrip("/")

config = rx.Config(
    app_name="carespace_app",
    db_url=os.environ.get("REFLEX_DB_URL") or default_database_url(),
    telemetry_enabled=False,
    show_built_with_reflex=False,
    frontend_port=_port,
    backend_port=_port,
    # The browser talks to the backend on the page's own origin (prod serves both on one port).
    api_url=os.environ.get("REFLEX_API_URL", _base_url),
    deploy_url=_base_url,
    cors_allowed_origins=[_base_url],
    trusted_proxy_hops=int(os.environ.get("CARESPACE_TRUSTED_PROXY_HOPS", "0")),
    disable_plugins=[SitemapPlugin],
    plugins=[
        RadixThemesPlugin(theme=rx.theme(accent_color="teal", gray_color="slate", radius="medium",
                                         scaling="100%", appearance="light")),
    ],
)

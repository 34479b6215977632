"""Reflex configuration. Everything a deployment changes comes from the environment
(REFLEX_DB_URL, REFLEX_REDIS_URL, CARESPACE_*; see README)."""
import os

import reflex as rx
from reflex.plugins.sitemap import SitemapPlugin
from reflex_components_radix.plugin import RadixThemesPlugin

from carespace_app.config import default_database_url
from carespace_app.services.identity.sessions import IDLE_TIMEOUT
from carespace_app.workers import enable_worker_respawn

enable_worker_respawn()

_port = int(os.environ.get("PORT", "3000"))
_base_url = os.environ.get("CARESPACE_BASE_URL", f"http://localhost:{_port}").rstrip("/")

# A tab's state holds health data. Without Redis it lives in this process's memory only
# (never in files); with Redis (several workers), in Redis. Either way it expires after
# the idle sign-out's 15 minutes without an event, and it is cleared at once when the
# tab's person or patient changes (state/session.py).
_redis_url = os.environ.get("REFLEX_REDIS_URL", "")
STATE_EXPIRY_SECONDS = int(IDLE_TIMEOUT.total_seconds())

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
    state_manager_mode="redis" if _redis_url else "memory",
    redis_token_expiration=STATE_EXPIRY_SECONDS,
    plugins=[
        RadixThemesPlugin(theme=rx.theme(accent_color="teal", gray_color="slate", radius="medium",
                                         scaling="100%", appearance="light")),
    ],
)

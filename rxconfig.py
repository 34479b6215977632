"""Reflex configuration, built from carespace_app.config.get_settings() (PORT,
CARESPACE_BASE_URL, REFLEX_DB_URL, REFLEX_REDIS_URL, CARESPACE_*; see README), so the
ports and URLs Reflex serves on are the ones every emailed link is built from."""
import reflex as rx
from reflex.plugins.sitemap import SitemapPlugin
from reflex_components_radix.plugin import RadixThemesPlugin

from carespace_app.config import get_settings
from carespace_app.policy import IDLE_TIMEOUT
from carespace_app.workers import enable_worker_respawn

enable_worker_respawn()

_settings = get_settings()

# A tab's state holds health data. Without Redis it lives in this process's memory only
# (never in files); with Redis (several workers), in Redis. Either way it expires after
# the idle sign-out's time without an event (policy.IDLE_TIMEOUT), and it is cleared at
# once when the tab's person or patient changes (state/session.py).
STATE_EXPIRY_SECONDS = int(IDLE_TIMEOUT.total_seconds())

config = rx.Config(
    app_name="carespace_app",
    db_url=_settings.database_url,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    frontend_port=_settings.port,
    backend_port=_settings.port,
    # The browser talks to the backend on the page's own origin (prod serves both on one port).
    api_url=_settings.api_url,
    deploy_url=_settings.base_url,
    cors_allowed_origins=[_settings.base_url],
    trusted_proxy_hops=_settings.trusted_proxy_hops,
    disable_plugins=[SitemapPlugin],
    state_manager_mode="redis" if _settings.redis_url else "memory",
    redis_token_expiration=STATE_EXPIRY_SECONDS,
    plugins=[
        RadixThemesPlugin(theme=rx.theme(accent_color="teal", gray_color="slate", radius="medium",
                                         scaling="100%", appearance="light")),
    ],
)

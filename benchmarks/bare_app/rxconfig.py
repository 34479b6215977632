"""The bare Reflex app the benchmarks compare CareSpace with (the framework's floor)."""
import os

import reflex as rx
from reflex.plugins.sitemap import SitemapPlugin
from reflex_components_radix.plugin import RadixThemesPlugin

_base_url = os.environ.get("BARE_BASE_URL", "http://localhost:3000").rstrip("/")

config = rx.Config(
    app_name="bare_app",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    api_url=_base_url,
    deploy_url=_base_url,
    cors_allowed_origins=[_base_url],
    disable_plugins=[SitemapPlugin],
    plugins=[RadixThemesPlugin(theme=rx.theme(accent_color="teal"))],
)

"""Full-page navigation driven by a state var, compiled into the bundle.

Reflex's rx.call_script evaluates a string in the browser, which our
Content-Security-Policy (no 'unsafe-eval') forbids, and rx.redirect to a
same-origin path is a client-side route change that never reaches the backend
routes (/auth/session, /auth/sign-out). This hook does a real page load when
the var becomes a local path.

The state outlives the page: Reflex keeps it per browser tab, across full page
loads. An event still running when its page was left (a click on Sign out while
the page's on_load ran) can set the var after that page is gone; the next page
would receive it with the rest of the state and follow it. So a navigation
carries the path of the page that asked for it, and only that page follows it.
"""
from __future__ import annotations

import reflex as rx
from reflex.vars.base import Var, VarData


class FullPageNavigate(rx.Fragment):
    url: Var[str]
    origin: Var[str]

    def add_imports(self):
        return {"react": ["useEffect"]}

    def _exclude_props(self) -> list[str]:
        return [*super()._exclude_props(), "url", "origin"]

    def add_hooks(self):
        url = str(self.url)
        origin = str(self.origin)
        return [Var(
            f"""
useEffect(() => {{
  const target = {url};
  const origin = {origin};
  const trimmed = (path) => (path.length > 1 ? path.replace(/\/+$/, "") : path);
  // Asked for by this page (not by one the tab has since left)?
  const here = !origin || trimmed(origin) === trimmed(window.location.pathname);
  // Only our own paths: never a URL the server didn't mean.
  if (here && typeof target === "string" && target.startsWith("/") && !target.startsWith("//")
      && window.sessionStorage.getItem("carespace-navigated") !== target) {{
    // Remember it: the same state hydrated again after the load must not navigate twice.
    window.sessionStorage.setItem("carespace-navigated", target);
    window.location.assign(target);
  }}
}}, [{url}]);""",
            _var_data=VarData.merge(self.url._get_all_var_data(), self.origin._get_all_var_data()),
        )]


full_page_navigate = FullPageNavigate.create

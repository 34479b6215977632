"""Full-page navigation driven by a state var, compiled into the bundle.

Reflex's rx.call_script evaluates a string in the browser, which our
Content-Security-Policy (no 'unsafe-eval') forbids, and rx.redirect to a
same-origin path is a client-side route change that never reaches the backend
routes (/auth/session, /auth/sign-out). This hook does a real page load when
the var becomes a local path.
"""
from __future__ import annotations

import reflex as rx
from reflex.vars.base import Var


class FullPageNavigate(rx.Fragment):
    url: Var[str]

    def add_imports(self):
        return {"react": ["useEffect"]}

    def _exclude_props(self) -> list[str]:
        return [*super()._exclude_props(), "url"]

    def add_hooks(self):
        url = str(self.url)
        return [Var(
            f"""
useEffect(() => {{
  const target = {url};
  // Only our own paths: never a URL the server didn't mean.
  if (typeof target === "string" && target.startsWith("/") && !target.startsWith("//")
      && window.sessionStorage.getItem("carespace-navigated") !== target) {{
    // Remember it: the same state hydrated again after the load must not navigate twice.
    window.sessionStorage.setItem("carespace-navigated", target);
    window.location.assign(target);
  }}
}}, [{url}]);""",
            _var_data=self.url._get_all_var_data(),
        )]


full_page_navigate = FullPageNavigate.create

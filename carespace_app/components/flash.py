"""Toasts the server asks for, shown without eval, once, on the page that asked.

rx.toast returned from an event handler is sent to the browser as a script to
evaluate, which our Content-Security-Policy (no 'unsafe-eval') refuses: the toast
silently never shows. Handlers call SessionState._flash(kind, text) instead,
and this compiled hook shows the toast when the var changes.

The var outlives the page: Reflex keeps a tab's state on the server and sends it
whole to every page the tab loads, and each page mounts this hook anew. So a toast
is shown once per tab (its id is remembered in sessionStorage), and only on the page
it was said on, or on the page a handler opened right after saying it (a page of the
same document, mounted with the toast already there: "Patient record created." then
the new record). A page loaded afterwards, such as sign-in after signing out, stays
quiet. On a phone toasts sit at the top, clear of the reply box and the keyboard.
"""
from __future__ import annotations

import reflex as rx
from reflex.vars.base import Var

from carespace_app.state.session import SessionState

# Sonner's own phone breakpoint: below it toasts span the screen's width.
PHONE_QUERY = "(max-width:600px)"
SHOWN_KEY = "carespace-flashed"


class FlashToast(rx.Fragment):
    def add_imports(self):
        return {"react": ["useEffect", "useRef"], "$/utils/state": ["refs"]}

    def add_hooks(self):
        flash = Var.create(SessionState.flash)
        return [Var(
            f"""
const flashMounted = useRef(false);
useEffect(() => {{
  const flash = {flash};
  // Already there when this page mounted: carried here by a navigation of this document.
  const carried = !flashMounted.current;
  flashMounted.current = true;
  if (!(flash && flash.text && flash.id && ["success", "error", "info"].includes(flash.kind))) {{
    return;
  }}
  const trimmed = (path) => (path.length > 1 ? path.replace(/\\/+$/, "") : path);
  const here = !flash.path || trimmed(flash.path) === trimmed(window.location.pathname);
  if (!(here || carried) || window.sessionStorage.getItem("{SHOWN_KEY}") === flash.id) {{
    return;
  }}
  window.sessionStorage.setItem("{SHOWN_KEY}", flash.id);
  const where = window.matchMedia("{PHONE_QUERY}").matches ? {{ position: "top-center" }} : {{}};
  refs["__toast"]?.[flash.kind](flash.text, where);
}}, [{flash}?.id]);""",
            _var_data=flash._get_all_var_data(),
        )]


flash_toast = FlashToast.create

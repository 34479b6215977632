"""Toasts the server asks for, shown without eval.

rx.toast returned from an event handler is sent to the browser as a script to
evaluate, which our Content-Security-Policy (no 'unsafe-eval') refuses: the toast
silently never shows. Handlers call SessionState._flash(kind, text) instead,
and this compiled hook shows the toast when the var changes.
"""
from __future__ import annotations

import reflex as rx
from reflex.vars.base import Var

from ..state.session import SessionState


class FlashToast(rx.Fragment):
    def add_imports(self):
        return {"react": ["useEffect"], "$/utils/state": ["refs"]}

    def add_hooks(self):
        flash = Var.create(SessionState.flash)
        return [Var(
            f"""
useEffect(() => {{
  const flash = {flash};
  if (flash && flash.text && ["success", "error", "info"].includes(flash.kind)) {{
    refs["__toast"]?.[flash.kind](flash.text);
  }}
}}, [{flash}?.id]);""",
            _var_data=flash._get_all_var_data(),
        )]


flash_toast = FlashToast.create

"""One state, one trivial event, one Radix page: what any Reflex app costs at least."""
import reflex as rx


class BareState(rx.State):
    count: int = 0

    def bump(self):
        self.count += 1


def index() -> rx.Component:
    return rx.container(
        rx.vstack(
            rx.heading("Bare Reflex", size="6"),
            rx.text("Clicks: ", BareState.count),
            rx.button("Bump", on_click=BareState.bump),
        ),
    )


app = rx.App()
app.add_page(index, route="/")

"""Labs: reports newest first, and the history of one test as a table and a chart.

A test name from the browser is only a filter inside the tab's own patient:
labs.test_history is always called with viewer.patient_id, so it can never reach
another patient's values.
"""
from __future__ import annotations

import dataclasses

from .. import timefmt
from ..clock import utcnow
from ..services import labs
from .portal import PortalState, flag_icon

PAGE_SIZE = 10
TEST_NAME_MAX = labs.TEST_NAME_MAX


@dataclasses.dataclass
class ResultRow:
    test_name: str = ""
    value: str = ""
    unit: str = ""
    reference: str = ""
    flag: str = ""
    flag_label: str = ""
    flag_icon: str = ""
    corrected: bool = False


@dataclasses.dataclass
class ReportRow:
    id: str = ""
    panel: str = ""
    collected: str = ""
    resulted: str = ""
    provider: str = ""
    abnormal_count: int = 0
    results: list[ResultRow] = dataclasses.field(default_factory=list)


def _report_row(r: labs.ReportView) -> ReportRow:
    return ReportRow(
        id=str(r.id), panel=r.panel, collected=timefmt.when(r.collected_at),
        resulted=timefmt.when(r.resulted_at), provider=r.ordering_provider,
        abnormal_count=r.abnormal_count,
        results=[ResultRow(test_name=v.test_name, value=v.value_text, unit=v.unit,
                           reference=v.reference_text, flag=v.flag, flag_label=v.flag_label,
                           flag_icon=flag_icon(v.flag), corrected=v.corrected)
                 for v in r.results],
    )


def _reports(offset: int):
    return lambda db, viewer: labs.list_reports(db, viewer.user, viewer.patient_id, offset=offset,
                                                limit=PAGE_SIZE, clock=utcnow)


def _history(test_name: str):
    return lambda db, viewer: labs.test_history(db, viewer.user, viewer.patient_id, test_name,
                                                clock=utcnow)


def _chart_label(collected_at) -> str:
    """ "Oct 25, 2026": short enough for the axis of a phone-wide chart."""
    local = timefmt.to_local(collected_at)
    return f"{local:%b} {local.day}, {local.year}"


class LabsState(PortalState):
    reports: list[ReportRow] = []
    has_more: bool = False
    loaded: bool = False
    error: str = ""

    history_open: bool = False
    history_test: str = ""
    history_unit: str = ""
    history_rows: list[dict[str, str]] = []
    chart_data: list[dict[str, str | float]] = []
    has_range: bool = False
    range_low: float = 0.0
    range_high: float = 0.0
    range_text: str = ""
    history_error: str = ""

    async def load(self):
        got = await self._open_page(_reports(0), what="lab reports")
        if got.left:
            return
        self.history_open = False
        self.loaded = True
        self.error = got.error
        if got.ok:
            self.reports = [_report_row(r) for r in got.value.items]
            self.has_more = got.value.has_more

    async def more_reports(self):
        got = await self._portal(_reports(len(self.reports)), what="more lab reports")
        if not got.ok:
            self.error = got.error
            return
        seen = {r.id for r in self.reports}
        self.reports = self.reports + [_report_row(r) for r in got.value.items if str(r.id) not in seen]
        self.has_more = got.value.has_more

    async def show_history(self, test_name: str):
        name = test_name[:TEST_NAME_MAX] if isinstance(test_name, str) else ""
        got = await self._portal(_history(name), what="lab history")
        if got.left:
            return
        self.history_error = got.error
        points = got.value if got.ok else []
        self.history_test = name
        self.history_rows = [
            {"when": timefmt.when(p.collected_at), "value": labs.format_number(p.value),
             "unit": p.unit, "reference": labs.reference_text(p.ref_low, p.ref_high),
             "flag_label": labs.FLAG_LABELS.get(p.flag, ""), "flag_icon": flag_icon(p.flag)}
            for p in reversed(points)  # the table reads newest first; the chart left to right
        ]
        self.chart_data = [{"date": _chart_label(p.collected_at), "value": p.value} for p in points]
        latest = points[-1] if points else None
        self.history_unit = latest.unit if latest else ""
        # The band drawn is today's reference range (the latest value's); a one-sided
        # range is drawn up to (or down from) the plotted values.
        low = latest.ref_low if latest else None
        high = latest.ref_high if latest else None
        self.has_range = low is not None or high is not None
        values = [p.value for p in points] or [0.0]
        self.range_low = low if low is not None else min(min(values), high or 0.0)
        self.range_high = high if high is not None else max(max(values), low or 0.0)
        self.range_text = labs.reference_text(low, high)
        self.history_open = True

    def set_history_open(self, is_open: bool):
        self.history_open = bool(is_open)

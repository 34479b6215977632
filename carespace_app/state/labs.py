"""Labs: reports newest first (or the one report a link opens), and the history of one
test as a table and a chart.

A test name or report id from the browser is only a filter inside the tab's own
patient: the services are always called with viewer.patient_id, so neither can reach
another patient's values.
"""
from __future__ import annotations

import dataclasses
from datetime import datetime

from carespace_app import i18n, routes, timefmt
from carespace_app.clock import utcnow
from carespace_app.services.permissions import scopes
from carespace_app.services.records import labs
from carespace_app.state.portal import PortalState, flag_icon
from carespace_app.state.session import RELOAD_ON_LANGUAGE

PAGE_SIZE = 10
TEST_NAME_MAX = labs.TEST_NAME_MAX
REPORT_PARAM = "report"  # /labs?report=N opens one report (emails link there)
_EPOCH = datetime(1970, 1, 1)
DAY_SECONDS = 86_400


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
    critical: bool = False


@dataclasses.dataclass
class ReportRow:
    id: str = ""
    panel: str = ""
    collected: str = ""
    resulted: str = ""
    provider: str = ""
    abnormal_count: int = 0
    critical_count: int = 0
    results: list[ResultRow] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class HistoryRow:
    """One value in a test's history table."""
    when: str = ""
    value: str = ""
    unit: str = ""
    reference: str = ""
    flag_label: str = ""
    flag_icon: str = ""


def _report_row(r: labs.ReportView, lang: str) -> ReportRow:
    return ReportRow(
        id=str(r.id), panel=r.panel, collected=timefmt.when(r.collected_at, lang=lang),
        resulted=timefmt.when(r.resulted_at, lang=lang), provider=r.ordering_provider,
        abnormal_count=r.abnormal_count, critical_count=r.critical_count,
        results=[ResultRow(test_name=v.test_name, value=v.value_text, unit=v.unit,
                           reference=v.reference_text, flag=v.flag, flag_label=i18n.gettext(lang, v.flag_label),
                           flag_icon=flag_icon(v.flag), corrected=v.corrected,
                           critical=v.critical)
                 for v in r.results],
    )


def _reports(offset: int):
    return lambda db, viewer: labs.list_reports(db, viewer.user, viewer.patient_id, offset=offset,
                                                limit=PAGE_SIZE, clock=utcnow)


def _first_reports(state):
    """The work for a tab: its language is read when the work runs (after the tab is bound)."""
    return lambda db, viewer: _first_reports_in(db, viewer, state.lang)


def _first_reports_in(db, viewer, lang: str):
    """The first page and the held results' lines ("1 result will appear …"); the lines
    first: a hold that has ended releases its report there, and the list then shows it."""
    held = labs.held_lines(db, viewer.user, viewer.patient_id, clock=utcnow, lang=lang)
    return _reports(0)(db, viewer), held


def _one_report(report_id: int):
    return lambda db, viewer: labs.open_report(db, viewer.user, viewer.patient_id, report_id,
                                               clock=utcnow)


def _history(test_name: str):
    return lambda db, viewer: labs.test_history(db, viewer.user, viewer.patient_id, test_name,
                                                clock=utcnow)


def _report_id(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) <= 12 else None


def chart_day(collected_at: datetime) -> float:
    """Days since 1970-01-01 of the practice's local date and time: the chart's x axis is
    proportional to time, and the browser names each tick in UTC, so a tick reads the
    practice's date whatever the reader's own time zone (DAY_LABEL_JS)."""
    local = timefmt.to_local(collected_at).replace(tzinfo=None)
    return round((local - _EPOCH).total_seconds() / DAY_SECONDS, 6)


def reference_band(points: list[labs.HistoryPoint]) -> tuple[bool, float, float]:
    """The band drawn behind the values: today's reference range (the latest value's).
    "< 35" is the band from 0 (or the lowest value, when one is below 0) up to 35;
    "> 40" from 40 up to the highest value."""
    latest = points[-1] if points else None
    low = latest.ref_low if latest else None
    high = latest.ref_high if latest else None
    if low is None and high is None:
        return False, 0.0, 0.0
    values = [p.value for p in points]
    band_low = low if low is not None else min([0.0, *values])
    band_high = high if high is not None else max([band_low, *values])
    return True, band_low, band_high


class LabsState(PortalState):
    reports: list[ReportRow] = []
    has_more: bool = False
    loaded: bool = False
    error: str = ""
    # The id of the one report this page shows (from ?report=N); "" shows them all.
    opened_report: str = ""
    # Results held until the care team reviews them: that they exist and by when, never
    # what they are (services/records/result_release.py).
    held_notes: list[str] = []

    history_open: bool = False
    history_test: str = ""
    history_unit: str = ""
    history_rows: list[HistoryRow] = []
    # Recharts' data: one point per value, keyed by the chart's data_key names.
    chart_data: list[dict[str, str | float]] = []
    chart_ticks: list[float] = []
    has_range: bool = False
    range_low: float = 0.0
    range_high: float = 0.0
    range_text: str = ""
    history_error: str = ""

    def _wanted_report(self) -> int | None:
        return _report_id(self.router.url.query_parameters.get(REPORT_PARAM, "")[:40])

    async def load(self):
        wanted = self._wanted_report()
        if wanted is not None:
            got = await self._open_page(_one_report(wanted), area=scopes.AREA_LABS, what="lab report")
            if got.left:
                return
            self.history_open = False
            if got.ok:
                self.error, self.opened_report = "", str(got.value.id)
                self.reports, self.has_more = [_report_row(got.value, self.lang)], False
                self.loaded = True
                return
            # Not this patient's (or gone): say so, and list the reports there are.
            got_list = await self._portal(_first_reports(self), what="lab reports")
        else:
            got = got_list = await self._open_page(_first_reports(self), area=scopes.AREA_LABS, what="lab reports")
        if got_list.left:
            return
        self.history_open = False
        self.opened_report = ""
        self.loaded = True
        self.error = got.error or got_list.error
        if got_list.ok:
            first, self.held_notes = got_list.value
            self.reports = [_report_row(r, self.lang) for r in first.items]
            self.has_more = first.has_more

    async def more_reports(self):
        got = await self._portal(_reports(len(self.reports)), what="more lab reports")
        if not got.ok:
            self.error = got.error
            return
        seen = {r.id for r in self.reports}
        self.reports = self.reports + [_report_row(r, self.lang) for r in got.value.items if str(r.id) not in seen]
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
            HistoryRow(when=timefmt.when(p.collected_at, lang=self.lang),
                       value=p.value_text or labs.format_number(p.value), unit=p.unit,
                       reference=labs.reference_text(p.ref_low, p.ref_high),
                       flag_label=self._tr(labs.FLAG_LABELS.get(p.flag, "")), flag_icon=flag_icon(p.flag))
            for p in reversed(points)  # the table reads newest first; the chart left to right
        ]
        self.chart_data = [{"day": chart_day(p.collected_at), "value": p.value,
                            "date": timefmt.when(p.collected_at, lang=self.lang)} for p in points]
        self.chart_ticks = sorted({chart_day(p.collected_at) for p in points})
        latest = points[-1] if points else None
        self.history_unit = latest.unit if latest else ""
        self.has_range, self.range_low, self.range_high = reference_band(points)
        self.range_text = labs.reference_text(latest.ref_low, latest.ref_high) if latest else ""
        self.history_open = True

    def set_history_open(self, is_open: bool):
        self.history_open = bool(is_open)


# No form: after the language switch the reports (or the one open) load again, their dates,
# flags and held-result lines in the new language.
RELOAD_ON_LANGUAGE[routes.LABS] = LabsState.load

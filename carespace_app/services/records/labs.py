"""Lab reports: the office enters them, patients read them and follow a test over time.

Each result carries its reference range and a flag computed when it is stored, so
a list never recomputes flags and a later change of rules never rewrites history.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import func
from sqlmodel import Session, select

from carespace_app import timefmt
from carespace_app.clock import Clock, utcnow
from carespace_app.models import (
    FLAG_CRITICAL_HIGH,
    FLAG_CRITICAL_LOW,
    FLAG_HIGH,
    FLAG_LOW,
    FLAG_NORMAL,
    LabReport,
    LabResult,
    Patient,
    User,
)
from carespace_app.i18n import N_, OFFICE_
from carespace_app.services import paging
from carespace_app.services.permissions import access, scopes
from carespace_app.services.audit import trail
from carespace_app.services.errors import NotFound, ValidationError
from carespace_app.services.text_rules import check_text
from carespace_app.services.records.messaging import audit_role
from carespace_app.services.records import result_release

FLAG_LABELS = {
    FLAG_NORMAL: "",
    FLAG_LOW: N_("Low"),
    FLAG_HIGH: N_("High"),
    FLAG_CRITICAL_LOW: N_("Critical low"),
    FLAG_CRITICAL_HIGH: N_("Critical high"),
}
CRITICAL_FLAGS = (FLAG_CRITICAL_LOW, FLAG_CRITICAL_HIGH)
# Beside every critical value, with the office's number to tap.
CRITICAL_CALL = N_("Critical — call the office now")
TEXT_MAX = 200
TEST_NAME_MAX = 120
UNIT_MAX = 40
VALUE_TEXT_MAX = 40
CLIENT_KEY_MAX = 64
HISTORY_MAX = 1000
# A LOINC code: up to 7 digits, a hyphen, the check digit ("2857-1", "10334-1").
_LOINC = re.compile(r"(\d{1,7})-(\d)")
LOINC_WRONG = OFFICE_("Result {n}: the LOINC code looks wrong (like 10334-1); leave it empty if unsure.")
# A value as people write it on a lab form: "1.0", "-2", ".5", "+3.25" (no exponents,
# no thousands separators, no "nan").
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def compute_flag(value: float, ref_low: Optional[float], ref_high: Optional[float],
                 critical_low: Optional[float] = None, critical_high: Optional[float] = None) -> str:
    """The flag a patient sees. A value exactly on a reference limit is normal;
    exactly on a critical limit is critical (critical limits are "at or beyond")."""
    if critical_low is not None and value <= critical_low:
        return FLAG_CRITICAL_LOW
    if critical_high is not None and value >= critical_high:
        return FLAG_CRITICAL_HIGH
    if ref_low is not None and value < ref_low:
        return FLAG_LOW
    if ref_high is not None and value > ref_high:
        return FLAG_HIGH
    return FLAG_NORMAL


def format_number(value: Optional[float], decimals: Optional[int] = None) -> str:
    """5.0 → "5", 0.10 → "0.1" (or a fixed number of decimals when given)."""
    if value is None:
        return ""
    if decimals is not None:
        return f"{value:.{decimals}f}"
    return f"{value:.10g}"


def is_critical(flag: str) -> bool:
    return flag in CRITICAL_FLAGS


def value_from_text(text, field: str, message: str) -> tuple[float, str]:
    """The number for flags and charts, and the text exactly as entered ("1.0" stays "1.0")."""
    if isinstance(text, bool):
        raise ValidationError(message, field=field)
    if isinstance(text, (int, float)):
        number = _finite(text, field, message)
        return number, format_number(number)
    entered = text.strip() if isinstance(text, str) else ""
    if not entered or len(entered) > VALUE_TEXT_MAX or not _NUMBER.fullmatch(entered):
        raise ValidationError(message, field=field)
    number = float(entered)
    if not math.isfinite(number):
        raise ValidationError(message, field=field)
    return number, entered.lstrip("+")


def _decimals(value: float) -> int:
    exponent = Decimal(format_number(value)).as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def reference_text(ref_low: Optional[float], ref_high: Optional[float]) -> str:
    """"3.5–5.0", "< 200", "> 40" or "" — both limits of a range with the same decimals."""
    if ref_low is not None and ref_high is not None:
        places = max(_decimals(ref_low), _decimals(ref_high))
        return f"{format_number(ref_low, places)}–{format_number(ref_high, places)}"
    if ref_high is not None:
        return f"< {format_number(ref_high)}"
    if ref_low is not None:
        return f"> {format_number(ref_low)}"
    return ""


@dataclass
class ResultInput:
    test_name: str
    value: float | str  # a number, or the text the office typed (kept as entered)
    unit: str = ""
    ref_low: Optional[float] = None
    ref_high: Optional[float] = None
    critical_low: Optional[float] = None
    critical_high: Optional[float] = None
    loinc: str = ""  # optional


@dataclass
class ResultView:
    id: int
    test_name: str
    value: float
    unit: str
    ref_low: Optional[float]
    ref_high: Optional[float]
    flag: str
    flag_label: str
    reference_text: str
    corrected: bool
    value_text: str = ""  # the value as the office entered it: "1.0" stays "1.0"
    critical: bool = False


@dataclass
class ReportView:
    id: int
    panel: str
    collected_at: datetime
    resulted_at: datetime
    ordering_provider: str
    results: list[ResultView]
    abnormal_count: int
    critical_count: int = 0
    category: str = ""
    # For the office (list_reports with include_held): the release, in words.
    held: bool = False
    release_status: str = ""
    reviewed: bool = False


@dataclass
class HistoryPoint:
    collected_at: datetime
    value: float
    unit: str
    ref_low: Optional[float]
    ref_high: Optional[float]
    flag: str
    value_text: str = ""


def _result_view(r) -> ResultView:
    """``r``: a LabResult, or a row of _RESULT_COLUMNS (labs._report_page)."""
    return ResultView(id=r.id, test_name=r.test_name, value=r.value, unit=r.unit,
                      ref_low=r.ref_low, ref_high=r.ref_high, flag=r.flag,
                      flag_label=FLAG_LABELS.get(r.flag, r.flag.capitalize()),
                      reference_text=reference_text(r.ref_low, r.ref_high),
                      corrected=r.corrected_at is not None, value_text=shown_value(r),
                      critical=is_critical(r.flag))


def shown_value(r: LabResult) -> str:
    return r.value_text or format_number(r.value)


# --- entering and correcting (the office) ---------------------------------------------


def _finite(value, field: str, message: str) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValidationError(message, field=field)
    return float(value)


def _text(value, field: str, label: str, limit: int, *, required: bool = True) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise ValidationError(OFFICE_(f"Enter the {label}."), field=field)
    if len(text) > limit:
        raise ValidationError(OFFICE_(f"The {label} can be at most {limit} characters."), field=field)
    return text


def loinc_check_digit(digits: str) -> int:
    """LOINC's mod-10 check digit of the code's digits (Luhn, as LOINC's manual gives it)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return (10 - total % 10) % 10


def checked_loinc(value, n: int) -> str:
    code = value.strip() if isinstance(value, str) else ""
    if not code:
        return ""
    found = _LOINC.fullmatch(code)
    if found is None or loinc_check_digit(found.group(1)) != int(found.group(2)):
        raise ValidationError(LOINC_WRONG.format(n=n), field="results")
    return code


def _checked_result(n: int, item: ResultInput) -> dict:
    where = OFFICE_(f"Result {n}: ")
    name = _text(item.test_name, "results", OFFICE_(f"test name of result {n}"), TEST_NAME_MAX)
    name = check_text(name, field="results", label=OFFICE_(f"test name of result {n}"), single_line=True)
    check_text(item.unit, field="results", label=OFFICE_(f"unit of result {n}"), single_line=True)
    value, value_text = value_from_text(item.value, "results", where + OFFICE_("enter the value as a number."))
    bounds = {key: _finite(getattr(item, key), "results", where + OFFICE_(f"the {label} must be a number."))
              for key, label in OFFICE_((("ref_low", "low limit"), ("ref_high", "high limit"),
                                         ("critical_low", "critical low limit"),
                                         ("critical_high", "critical high limit")))}
    for low, high in (("ref_low", "ref_high"), ("critical_low", "critical_high")):
        if bounds[low] is not None and bounds[high] is not None and bounds[low] > bounds[high]:
            raise ValidationError(where + OFFICE_("the low limit must not be above the high limit."),
                                  field="results")
    return dict(test_name=name, value=value, value_text=value_text, loinc=checked_loinc(item.loinc, n),
                unit=_text(item.unit, "results", OFFICE_(f"unit of result {n}"), UNIT_MAX, required=False),
                flag=compute_flag(value, bounds["ref_low"], bounds["ref_high"],
                                  bounds["critical_low"], bounds["critical_high"]),
                **bounds)


def _client_key(key) -> Optional[str]:
    if key is None or key == "":
        return None
    if not isinstance(key, str) or len(key) > CLIENT_KEY_MAX or not key.isprintable():
        raise ValidationError(OFFICE_("The report could not be saved. Reload the page and save it again."))
    return key


def enter_report(db: Session, actor, patient_id: int, *, panel: str, collected_at: datetime,
                 resulted_at: datetime, ordering_provider: str, results: list[ResultInput],
                 clock: Clock, client_key: Optional[str] = None,
                 category: str = result_release.DEFAULT_CATEGORY,
                 hold: Optional[result_release.ClinicianHold] = None) -> int:
    """Store a report with its results and tell the patient's side results are in — at
    once, or when its hold ends (result_release: the patient's choice for ``category``,
    or the clinician's ``hold``).

    A save repeated with the same ``client_key`` (a double tap, a browser retry)
    returns the report the first one stored, and stores and sends nothing more."""
    access.require_staff(db, actor, action="lab_report.enter", clock=clock)
    if db.get(Patient, patient_id) is None:
        raise NotFound(OFFICE_("That patient was not found."))
    key = _client_key(client_key)
    if key is not None:
        earlier = db.exec(select(LabReport).where(LabReport.created_by_user_id == actor.id,
                                                  LabReport.client_key == key)).first()
        if earlier is not None:
            if earlier.patient_id != patient_id:
                raise ValidationError(OFFICE_("The report could not be saved. Reload the page and "
                                              "save it again."))
            return earlier.id
    panel = _text(panel, "panel", OFFICE_("panel name"), TEXT_MAX)
    provider = _text(ordering_provider, "ordering_provider", OFFICE_("ordering provider"), TEXT_MAX)
    panel = check_text(panel, field="panel", label=OFFICE_("panel name"), single_line=True)
    provider = check_text(provider, field="ordering_provider", label=OFFICE_("ordering provider"),
                          single_line=True)
    if not isinstance(collected_at, datetime):
        raise ValidationError(OFFICE_("Enter when the sample was collected."), field="collected_at")
    if not isinstance(resulted_at, datetime):
        raise ValidationError(OFFICE_("Enter when the results came back."), field="resulted_at")
    now = clock()
    if collected_at > now:
        raise ValidationError(OFFICE_("The collection time can't be in the future."), field="collected_at")
    if resulted_at < collected_at:
        raise ValidationError(OFFICE_("Results can't come back before the sample was collected."),
                              field="resulted_at")
    if not results:
        raise ValidationError(OFFICE_("Add at least one result."), field="results")
    rows = [_checked_result(n, item) for n, item in enumerate(results, start=1)]
    report = LabReport(patient_id=patient_id, panel=panel, collected_at=collected_at,
                       resulted_at=resulted_at, ordering_provider=provider,
                       created_by_user_id=actor.id, created_at=now, client_key=key,
                       category=category)
    shown = result_release.apply_to_new_report(db, report, actor, hold=hold, clock=clock)
    db.add(report)
    db.flush()
    report_id = report.id
    for row in rows:
        db.add(LabResult(report_id=report_id, patient_id=patient_id, collected_at=collected_at, **row))
    # Only that results are in; the email never says which test or what it showed. A held
    # report's email goes when it is released.
    if shown:
        result_release.tell_results_ready(db, patient_id, report_id, clock=clock)
    held = "" if shown else OFFICE_(f", held ({report.hold_kind}) until {report.release_by:%Y-%m-%d %H:%M} UTC")
    trail.record(db, "lab_report.entered", actor=actor, patient_id=patient_id,
                 detail=f"report {report_id}, {len(rows)} results, {category}{held}", clock=clock)
    return report_id


def correct_result(db: Session, actor, result_id: int, *, value: float | str,
                   clock: Clock) -> None:
    """Fix a mistyped value; the earlier one stays in the (staff-only) audit trail."""
    access.require_staff(db, actor, action="lab_result.correct", clock=clock)
    result = db.get(LabResult, result_id) if isinstance(result_id, int) else None
    if result is None:
        raise NotFound(OFFICE_("That result was not found."))
    new_value, new_text = value_from_text(value, "value", OFFICE_("Enter the corrected value as a number."))
    old_text = shown_value(result)
    result.value, result.value_text = new_value, new_text
    result.flag = compute_flag(new_value, result.ref_low, result.ref_high,
                               result.critical_low, result.critical_high)
    result.corrected_at = clock()
    db.add(result)
    unit = f" {result.unit}" if result.unit else ""
    trail.record(db, "lab_result.corrected", actor=actor, patient_id=result.patient_id,
                 detail=f"test {result.test_name}: {old_text} -> {new_text}{unit}", clock=clock)


# --- reading (the patient's side, and staff) --------------------------------------------


# The columns a page of reports shows, read as rows rather than ORM objects: a page open
# builds no objects it would only copy into views (docs/PERFORMANCE.md, the profile of #14).
_REPORT_COLUMNS = (LabReport.id, LabReport.panel, LabReport.collected_at, LabReport.resulted_at,
                   LabReport.ordering_provider, LabReport.category)
# What the patient's side may read: released reports (result_release).
SHOWN = LabReport.released_at.is_not(None)
_RESULT_COLUMNS = (LabResult.id, LabResult.report_id, LabResult.test_name, LabResult.value,
                   LabResult.value_text, LabResult.unit, LabResult.ref_low, LabResult.ref_high,
                   LabResult.flag, LabResult.corrected_at)


def _report_page(db: Session, patient_id: int, offset: int, limit: int,
                 office: bool = False) -> list[ReportView]:
    """limit + 1 reports, newest result first, and all their results in one more query.
    ``office``: held reports too, with their release in words."""
    columns = (LabReport,) if office else _REPORT_COLUMNS
    query = select(*columns).where(LabReport.patient_id == patient_id)
    if not office:
        query = query.where(SHOWN)
    reports = db.exec(
        query
        .order_by(LabReport.resulted_at.desc(), LabReport.id.desc())
        .offset(offset).limit(limit + 1)
    ).all()
    by_report: dict[int, list[ResultView]] = {r.id: [] for r in reports}
    if by_report:
        for result in db.exec(select(*_RESULT_COLUMNS)
                              .where(LabResult.report_id.in_(list(by_report)))
                              .order_by(LabResult.report_id, LabResult.id)).all():
            by_report[result.report_id].append(_result_view(result))
    views = [_report_view(r, by_report[r.id]) for r in reports]
    if office:
        names = _names(db, {u for r in reports for u in (r.held_by_user_id, r.reviewed_by_user_id) if u})
        for view, r in zip(views, reports):
            view.held = r.released_at is None
            view.release_status = result_release.status_words(
                r, held_by=names.get(r.held_by_user_id, ""))
            view.reviewed = r.reviewed_at is not None
            if view.reviewed:
                view.release_status += ". " + result_release.STATUS_REVIEWED.format(
                    who=names.get(r.reviewed_by_user_id, "the office"),
                    when=timefmt.when(r.reviewed_at))
            view.release_status = view.release_status.removeprefix(". ")
    return views


def _names(db: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return dict(db.exec(select(User.id, User.full_name).where(User.id.in_(list(user_ids)))).all())


def _report_view(r, results: list[ResultView]) -> ReportView:
    """``r``: a LabReport, or a row of its _REPORT_COLUMNS."""
    return ReportView(id=r.id, panel=r.panel, collected_at=r.collected_at,
                      resulted_at=r.resulted_at, ordering_provider=r.ordering_provider,
                      results=results,
                      abnormal_count=sum(1 for v in results if v.flag != FLAG_NORMAL),
                      critical_count=sum(1 for v in results if v.critical),
                      category=r.category)


def list_reports(db: Session, actor, patient_id: int, *, offset: int = 0, limit: int = 10,
                 clock: Clock, office: bool = False) -> paging.Page[ReportView]:
    """A page of reports. ``office`` (staff only): held reports too, with their release."""
    relation = access.require_access(db, actor, patient_id, area=scopes.AREA_LABS, action="labs.view", clock=clock)
    if office:
        access.require_staff(db, actor, action="labs.view held", clock=clock)
    offset, limit = paging.clamp(offset, limit)
    reports = _report_page(db, patient_id, offset, limit, office=office)
    trail.record(db, "labs.viewed", actor=actor, role=audit_role(actor, relation),
                 patient_id=patient_id, detail=f"offset {offset}", clock=clock)
    return paging.page_of(reports, offset, limit)


def open_report(db: Session, actor, patient_id: int, report_id: int, *,
                clock: Clock) -> ReportView:
    """One report of this patient (the page an email links to). Another patient's report
    id reads as not found: the id is only looked for among this patient's reports."""
    relation = access.require_access(db, actor, patient_id, area=scopes.AREA_LABS, action="labs.view", clock=clock)
    report = None
    if isinstance(report_id, int) and not isinstance(report_id, bool):
        find = select(LabReport).where(LabReport.id == report_id, LabReport.patient_id == patient_id,
                                       SHOWN)
        report = db.exec(find).first()
        if report is None and result_release.release_due(db, clock=clock, patient_id=patient_id):
            report = db.exec(find).first()  # its hold ended before the sweep came round
    if report is None:
        raise NotFound(N_("That lab report was not found. All your lab reports are listed below."))
    results = [_result_view(r) for r in db.exec(
        select(LabResult).where(LabResult.report_id == report.id).order_by(LabResult.id)).all()]
    trail.record(db, "labs.viewed", actor=actor, role=audit_role(actor, relation),
                 patient_id=patient_id, detail=f"report {report.id}", clock=clock)
    return _report_view(report, results)


def latest_reports(db: Session, actor, patient_id: int, *, limit: int = 3,
                   clock: Clock) -> list[ReportView]:
    """The few newest reports, for Home."""
    relation = access.require_access(db, actor, patient_id, area=scopes.AREA_LABS, action="labs.view", clock=clock)
    _offset, limit = paging.clamp(0, limit)
    reports = _report_page(db, patient_id, 0, limit)[:limit]
    trail.record(db, "labs.viewed", actor=actor, role=audit_role(actor, relation),
                 patient_id=patient_id, detail="latest on home", clock=clock)
    return reports


def test_history(db: Session, actor, patient_id: int, test_name: str, *, limit: int = 200,
                 clock: Clock) -> list[HistoryPoint]:
    """The most recent ``limit`` values of one test, oldest first (for the table and chart)."""
    relation = access.require_access(db, actor, patient_id, area=scopes.AREA_LABS, action="lab_history.view", clock=clock)
    try:  # browser-sent values: made safe before they reach SQL
        limit = max(1, min(int(limit), HISTORY_MAX))
    except (TypeError, ValueError):
        limit = 200
    test_name = test_name if isinstance(test_name, str) else ""
    rows = db.exec(
        select(LabResult).join(LabReport, LabReport.id == LabResult.report_id)
        .where(LabResult.patient_id == patient_id, LabResult.test_name == test_name, SHOWN)
        .order_by(LabResult.collected_at.desc(), LabResult.id.desc())
        .limit(limit)
    ).all()
    trail.record(db, "lab_history.viewed", actor=actor, role=audit_role(actor, relation),
                 patient_id=patient_id, detail=f"{len(rows)} values", clock=clock)
    return [HistoryPoint(collected_at=r.collected_at, value=r.value, unit=r.unit,
                         ref_low=r.ref_low, ref_high=r.ref_high, flag=r.flag,
                         value_text=shown_value(r))
            for r in reversed(rows)]


def test_names(db: Session, actor, patient_id: int, *, clock: Clock = utcnow) -> list[str]:
    """Every test this patient has a result for, for the history picker."""
    relation = access.require_access(db, actor, patient_id, area=scopes.AREA_LABS, action="lab_history.view", clock=clock)
    names = db.exec(
        select(LabResult.test_name).join(LabReport, LabReport.id == LabResult.report_id)
        .where(LabResult.patient_id == patient_id, SHOWN)
        .group_by(LabResult.test_name).order_by(func.lower(LabResult.test_name), LabResult.test_name)
    ).all()
    trail.record(db, "lab_tests.listed", actor=actor, role=audit_role(actor, relation),
                 patient_id=patient_id, clock=clock)
    return list(names)


def held_lines(db: Session, actor, patient_id: int, *, clock: Clock, lang: str = "en") -> list[str]:
    """"1 result will appear after your care team reviews it, by …" for the Labs page.
    Read before the list: a hold whose date has come ends here (result_release.held_lines)."""
    access.require_access(db, actor, patient_id, area=scopes.AREA_LABS, action="labs.view", clock=clock)
    return result_release.held_lines(db, patient_id, clock=clock, lang=lang)


# Their names start with "test_": tell pytest they are not tests when a test imports them.
test_history.__test__ = False  # type: ignore[attr-defined]
test_names.__test__ = False  # type: ignore[attr-defined]

"""The symptom check-in: one question per screen, then the answer (issue #15).

The check-in answered is the one open for the patient this tab shows (checkins.due_for),
never an id from the browser; the answers are grades the browser sends one tap at a time,
checked here for their range and again by the service. What was chosen stays in this
tab's state until sent: Back and "Change" go over it without losing anything.

``?view=history`` shows the answered check-ins: a chart of one symptom over time (its
axis proportional to time) and a table.
"""
from __future__ import annotations

import dataclasses
from datetime import timedelta

import reflex as rx

from carespace_app import i18n, routes, timefmt
from carespace_app.clock import utcnow
from carespace_app.i18n import N_
from carespace_app.policy import CHECKIN_RECALL
from carespace_app.services.permissions import scopes
from carespace_app.services.records import checkins, symptoms
from carespace_app.state.labs import chart_day
from carespace_app.state.portal import PortalState

VIEW_PARAM = "view"
HISTORY_VIEW = "history"
HISTORY_LINK = f"{routes.CHECKIN}?{VIEW_PARAM}={HISTORY_VIEW}"
NONE_DUE = N_("No check-in is waiting for you right now. Your care team will let you know when "
              "the next one opens.")
ANSWER_FIRST = N_("Choose an answer to go on.")
ANSWER_BY = N_("Please answer by {day}.")
# {span}: the questions' recall (policy.CHECKIN_RECALL), said in the page's language.
INTRO = N_("A few questions about how you have felt in the last {span}. It takes "
           "about 2 minutes. Your answers go to your care team.")
INTRO_PARAMS = {"span": i18n.duration(CHECKIN_RECALL)}
NO_HISTORY = N_("No answered check-ins yet.")
CAREGIVER_NOTE = N_("You are answering for {name}. Answer as they would.")
CAREGIVER_MARK = N_("{name} (caregiver)")


@dataclasses.dataclass
class QuestionRow:
    key: str = ""
    name: str = ""
    question: str = ""
    words: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class AnswerRow:
    """The review screen (and the call-now screen's list): one line per question."""
    index: int = 0
    name: str = ""
    answer: str = ""


@dataclasses.dataclass
class HistoryRow:
    when: str = ""
    answer: str = ""
    grade: int = 0
    who: str = ""


@dataclasses.dataclass
class SymptomChoice:
    key: str = ""
    name: str = ""


def _question(key: str, lang: str = "en") -> QuestionRow:
    item = symptoms.BY_KEY[key]
    return QuestionRow(key=key, name=item.name_in(lang), question=item.question_in(lang),
                       words=list(item.words_in(lang)))


def _due_with_progress(db, viewer):
    """The open check-in (or None) and what this person chose of it so far."""
    due = checkins.due_for(db, viewer.user, viewer.patient_id, clock=utcnow)
    return due, (checkins.progress_for(db, viewer.user, due.id) if due else {})


class CheckinState(PortalState):
    loaded: bool = False
    error: str = ""
    # "form" (a check-in is open), "none", "thanks", "call" (escalated), "history"
    mode: str = ""
    due_by: str = ""
    for_whom: str = ""  # a caregiver answers for the patient: said above the questions
    questions: list[QuestionRow] = []
    step: int = 0  # the question shown; len(questions) is the review screen
    answers: list[int] = []  # per question, -1 until chosen
    step_error: str = ""
    sending: bool = False
    told: list[str] = []  # the escalated answers, in words, on the call-now screen
    # History
    history_choices: list[SymptomChoice] = []
    history_symptom: str = ""
    history_name: str = ""
    history_rows: list[HistoryRow] = []
    chart_data: list[dict[str, str | float]] = []
    chart_ticks: list[float] = []
    history_empty: bool = False
    _checkin_id: int = 0
    _history: list[dict] = []  # [{"day": chart x, "when": text, "who": name, "grades": {...}}]

    # --- the page ---

    async def load(self):
        if self.router.url.query_parameters.get(VIEW_PARAM, "") == HISTORY_VIEW:
            await self._load_history()
            return
        got = await self._open_page(_due_with_progress, area=scopes.AREA_CHECKINS, what="check-in")
        if got.left:
            return
        self.loaded = True
        self.error = got.error
        self.step_error = ""
        self.sending = False
        due, kept = got.value if got.ok else (None, {})
        if due is None:
            self.mode = "none"
            self._checkin_id = 0
            self.questions, self.answers = [], []
            return
        if self._checkin_id != due.id or self.mode != "form":
            # A new check-in (or the first look at it): start at its first question.
            # What this person chose before (a session that ended mid-way) comes back, and
            # the form opens at the first question not answered yet.
            self._checkin_id = due.id
            self.questions = [_question(k, self.lang) for k in due.symptoms]
            self.answers = [kept.get(q.key, -1) for q in self.questions]
            self.step = next((i for i, a in enumerate(self.answers) if a < 0),
                             len(self.questions))
        # It closes when the next one opens (8 AM): "answer by" the day before.
        self.due_by = self._tr(ANSWER_BY, day=timefmt.day(due.closes_at - timedelta(days=1),
                                                          lang=self.lang))
        self.for_whom = (self._tr(CAREGIVER_NOTE, name=self.patient_name)
                         if self.relation == "caregiver" else "")
        self.mode = "form"

    # --- answering ---

    async def choose(self, value: int):
        """An answer to the question on screen (a tap on one of its options); kept on the
        server at once, so a session that ends mid-way loses nothing."""
        if self.mode != "form" or not 0 <= self.step < len(self.questions):
            return
        if isinstance(value, bool) or not isinstance(value, int):
            return
        if not 0 <= value < len(self.questions[self.step].words):
            return
        answers = list(self.answers)
        answers[self.step] = value
        self.answers = answers
        self.step_error = ""
        chosen = {q.key: a for q, a in zip(self.questions, answers) if a >= 0}
        wanted = self._checkin_id
        # A failure is not shown here (the office's read-only view, a check-in closed
        # meanwhile): sending says what is wrong.
        await self._portal(lambda db, v: checkins.save_progress(
            db, v.user, v.patient_id, wanted, chosen, clock=utcnow),
            what="keep check-in answers", writes=True)

    def next_question(self):
        if self.mode != "form" or self.step >= len(self.questions):
            return
        if self.answers[self.step] < 0:
            self.step_error = self._tr(ANSWER_FIRST)
            return
        self.step_error = ""
        self.step += 1

    def previous_question(self):
        if self.mode == "form" and self.step > 0:
            self.step_error = ""
            self.step -= 1

    def change_answer(self, index: int):
        """"Change" on the review screen: back to that question."""
        if self.mode == "form" and isinstance(index, int) and 0 <= index < len(self.questions):
            self.step_error = ""
            self.step = index

    @rx.event
    async def send_answers(self):
        if self.mode != "form" or self.sending:
            return  # a second tap after the first was sent
        if any(a < 0 for a in self.answers):
            self.step = next(i for i, a in enumerate(self.answers) if a < 0)
            self.step_error = self._tr(ANSWER_FIRST)
            return
        chosen = {q.key: a for q, a in zip(self.questions, self.answers)}
        wanted = self._checkin_id
        self.sending = True
        self.error = ""
        yield
        got = await self._portal(lambda db, v: checkins.submit(
            db, v.user, v.patient_id, wanted, chosen, clock=utcnow),
            what="send check-in", writes=True)
        self.sending = False
        if got.left:
            return
        if not got.ok:
            self.error = got.error  # the answers stay; the sentence says what to do
            return
        self.told = [f.describe(self.lang) for f in got.value.findings]
        self.mode = "call" if got.value.escalated else "thanks"
        self._checkin_id = 0

    # --- history ---

    async def _load_history(self):
        got = await self._open_page(lambda db, v: checkins.history(db, v.user, v.patient_id,
                                                                   clock=utcnow),
                                    area=scopes.AREA_CHECKINS, what="check-in history")
        if got.left:
            return
        self.loaded = True
        self.mode = "history"
        self.error = got.error
        if not got.ok:
            return
        show_history(self, got.value)

    def show_symptom(self, key: str):
        """The symptom the chart and the table show (a choice from the list)."""
        show_symptom(self, key)


# The history's vars, on the patient's check-in page and on the office's patient page
# (CheckinState, AdminCheckinsState): _history, history_choices, history_empty,
# history_symptom, history_name, history_rows, chart_data, chart_ticks.

def _lang_of(state) -> str:
    """The patient's page speaks the tab's language; the office's page stays English."""
    return state.lang if isinstance(state, CheckinState) else "en"


def show_history(state, shown: checkins.History) -> None:
    """The answered check-ins into ``state``: kept whole server-side (``_history``, never
    sent), one symptom's series shown (the one chosen before, else the first)."""
    lang = _lang_of(state)
    state._history = [{"day": chart_day(c.submitted_at),
                       "when": timefmt.when(c.submitted_at, lang=lang),
                       "who": who_answered(c, lang), "grades": dict(c.grades)}
                      for c in shown.checkins]
    state.history_choices = [SymptomChoice(key=k, name=symptoms.BY_KEY[k].name_in(lang))
                             for k in shown.asked]
    state.history_empty = not shown.checkins
    keys = [c.key for c in state.history_choices]
    if state.history_symptom not in keys:
        state.history_symptom = keys[0] if keys else ""
    _show_series(state)


def who_answered(answered: checkins.AnsweredCheckin, lang: str = "en") -> str:
    """ "Rosa Alvarez"; a caregiver's answer: "Maria Alvarez (caregiver)"."""
    if answered.submitted_as == "caregiver":
        return i18n.fmt(lang, CAREGIVER_MARK, name=answered.submitted_by)
    return answered.submitted_by


def show_symptom(state, key: str) -> None:
    """Another symptom chosen from the list (anything else is ignored)."""
    if isinstance(key, str) and key in {c.key for c in state.history_choices}:
        state.history_symptom = key
        _show_series(state)


def _show_series(state) -> None:
    (state.history_name, state.history_rows, state.chart_data,
     state.chart_ticks) = symptom_series(state._history, state.history_symptom, _lang_of(state))


def symptom_series(history: list[dict], key: str, lang: str = "en"):
    """One symptom over time: its name, the table's rows (newest first), the chart's points
    (oldest first, x in days so the axis is proportional to time) and the chart's ticks."""
    item = symptoms.BY_KEY.get(key)
    if item is None:
        return "", [], [], []
    points = [(c["day"], c["when"], c["who"], c["grades"][item.key])
              for c in history if item.key in c["grades"]]
    chart = [{"day": day, "grade": grade, "date": when,
              "answer": i18n.gettext(lang, item.word(grade))}
             for day, when, _, grade in points]
    ticks = sorted({day for day, *_ in points})
    rows = [HistoryRow(when=when, answer=i18n.gettext(lang, item.word(grade)), grade=grade, who=who)
            for _, when, who, grade in reversed(points)]
    return item.name_in(lang), rows, chart, ticks

"""The access matrix: what each role may do with every event handler of every Reflex State.

Every public method of a State is an endpoint the browser can call with any
arguments, so every (state, handler) pair found by introspection must have an
entry here; ``tests/security/test_access_matrix.py`` fails for a pair without
one (and for an entry whose handler is gone). An entry says, for each role,
what calling the handler *with ids that belong to someone else* comes to:

    ALLOWED     it runs for this role: nothing of another patient leaks into the
                state, nothing of another patient changes, no refusal
    REFUSED     nothing changes, nothing foreign leaks, and the refusal is audited
                (access.refused / admin.refused) with this person as the actor
    SIGNED_OUT  nothing changes, nothing leaks, the tab is sent to sign in
                (no one is signed in)
    SENT_AWAY   nothing changes, nothing leaks, the person stays signed in and the tab
                is sent to choose a portal (/access: their access to the patient the tab
                showed ended) or to the admin page (staff outside "View as patient")
    DISPLAY     only this tab's own display vars (a dialog, a tab, password
                rule ticks, the idle warning, Reflex's hydration flags): nothing
                in the database changes, nothing of any record appears
    PUBLIC      a signed-out flow (sign in, register, forgot/reset password,
                confirm email): it works from what the browser proves (a link's
                token, a password) and, given someone else's address, signs no
                one in and changes no one's account or record

``setvar`` (Reflex's built-in on every state) is a separate kind of entry:
``SetVar(names)`` lists the only vars the browser can set through it on that
state; the test tries every var of every state (public, private, router) and
checks that only these move.
"""
from __future__ import annotations

from dataclasses import dataclass

ROLES = ("anonymous", "patient_a", "patient_b", "caregiver", "revoked_caregiver", "staff", "admin",
         "limited_caregiver", "labs_caregiver")
# Issue #17: caregivers of patient A whose access the patient limited: appointments and
# resources ("limited_caregiver"), or appointments, labs and resources ("labs_caregiver").
# Their outcome for a handler is the full caregiver's, except on the pages of an area their
# access leaves out, where what the full caregiver may do is refused (and audited):
LIMITED_ROLES = {"limited_caregiver": "appointments", "labs_caregiver": "appointments_labs"}
# The portal area each portal state serves (services/permissions/scopes.py).
STATE_AREAS = {
    "HomeState": "home", "MessagesState": "messages", "AppointmentsState": "appointments",
    "LabsState": "labs", "CheckinState": "checkins", "ResourcesState": "resources",
    "MyRecordState": "record", "ShareLinksState": "share_links",
}
_SCOPE_AREAS = {"appointments": {"home", "appointments", "resources"},
                "appointments_labs": {"home", "appointments", "labs", "resources"}}

ALLOWED = "allowed"
REFUSED = "refused"
SIGNED_OUT = "signed out"
SENT_AWAY = "sent to choose a portal"
DISPLAY = "display only"
PUBLIC = "public flow"
OUTCOMES = (ALLOWED, REFUSED, SIGNED_OUT, SENT_AWAY, DISPLAY, PUBLIC)


@dataclass(frozen=True)
class SetVar:
    """The vars ``setvar`` reaches on a state (Reflex calls ``set_<name>``; we have no auto setters)."""

    names: frozenset[str]


def _row(anonymous, patient_a, patient_b, caregiver, revoked_caregiver, staff, admin) -> dict[str, str]:
    # The limited caregivers' outcomes are filled in per state at the end of this module.
    return dict(zip(ROLES[:7], (anonymous, patient_a, patient_b, caregiver, revoked_caregiver,
                                staff, admin)))


def same(outcome: str) -> dict[str, str]:
    return _row(*[outcome] * 7)


# A portal page's handler. The revoked caregiver's tab showed patient A: it is sent to choose
# another portal; staff outside "View as patient" have no portal patient: sent to the admin page.
PORTAL = _row(SIGNED_OUT, ALLOWED, ALLOWED, ALLOWED, SENT_AWAY, SENT_AWAY, SENT_AWAY)
# A portal handler given another patient's id (a thread): the service refuses and audits.
PORTAL_FOREIGN = _row(SIGNED_OUT, REFUSED, REFUSED, REFUSED, SENT_AWAY, SENT_AWAY, SENT_AWAY)
# The patient's own pages (Manage Users, Who viewed my record): not their caregivers.
PATIENT_ONLY = _row(SIGNED_OUT, ALLOWED, ALLOWED, REFUSED, SENT_AWAY, SENT_AWAY, SENT_AWAY)
PATIENT_ONLY_FOREIGN = _row(SIGNED_OUT, REFUSED, REFUSED, REFUSED, SENT_AWAY, SENT_AWAY, SENT_AWAY)
# The person's own account (any signed-in person, also staff and a caregiver whose last
# access was revoked: it touches their own sign-in only).
OWN_ACCOUNT = _row(SIGNED_OUT, ALLOWED, ALLOWED, ALLOWED, ALLOWED, ALLOWED, ALLOWED)
# The office's pages: staff and administrators.
STAFF = _row(SIGNED_OUT, REFUSED, REFUSED, REFUSED, REFUSED, ALLOWED, ALLOWED)
ADMIN_ONLY = _row(SIGNED_OUT, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED, ALLOWED)

MATRIX: dict[tuple[str, str], object] = {
    # --- Reflex's own states: hydration and page-load plumbing of this tab ---
    ("State", "hydrate"): same(DISPLAY),
    ("State", "hydrate_and_load"): same(DISPLAY),
    ("State", "set_is_hydrated"): same(DISPLAY),
    ("State", "setvar"): SetVar(frozenset({"is_hydrated"})),
    ("FrontendEventExceptionState", "handle_frontend_exception"): same(DISPLAY),
    ("FrontendEventExceptionState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    # Sets client-storage vars (rx.Cookie / rx.LocalStorage) only; CareSpace has none.
    ("UpdateVarsInternalState", "update_vars_internal"): same(DISPLAY),
    ("UpdateVarsInternalState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    # Returns the page's own on_load events, which are themselves in this matrix.
    ("OnLoadInternalState", "on_load_internal"): same(DISPLAY),
    ("OnLoadInternalState", "set_is_hydrated"): same(DISPLAY),
    ("OnLoadInternalState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    ("ComponentState", "hydrate"): same(DISPLAY),
    ("ComponentState", "hydrate_and_load"): same(DISPLAY),
    ("ComponentState", "set_is_hydrated"): same(DISPLAY),
    ("ComponentState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    ("SharedStateBaseInternal", "setvar"): SetVar(frozenset({"is_hydrated"})),
    ("SharedState", "setvar"): SetVar(frozenset({"is_hydrated"})),

    # --- the shell every signed-in page shares ---
    ("SessionState", "sign_out"): _row(SIGNED_OUT, ALLOWED, ALLOWED, ALLOWED, ALLOWED, ALLOWED,
                                        ALLOWED),
    # Given another patient's id: refused and audited, whoever asks; staff may open any
    # patient's portal (the switch is audited as portal.viewed_as_patient).
    ("SessionState", "switch_patient"): _row(SIGNED_OUT, REFUSED, REFUSED, REFUSED, REFUSED,
                                              ALLOWED, ALLOWED),
    ("SessionState", "show_problem"): same(DISPLAY),
    ("SessionState", "check_idle"): same(DISPLAY),
    ("SessionState", "stay_signed_in"): OWN_ACCOUNT,
    # Ends the office's "View as patient"; for anyone else, nothing to end.
    ("SessionState", "back_to_admin"): _row(SIGNED_OUT, DISPLAY, DISPLAY, DISPLAY, DISPLAY, ALLOWED,
                                             ALLOWED),
    # The language switch: signed out, it changes this tab's text only (DISPLAY); signed in,
    # it also saves the choice to the caller's own account (from the tab's session, never
    # an id from the browser): their own setting, whatever their role or access.
    ("SessionState", "set_language"): _row(DISPLAY, ALLOWED, ALLOWED, ALLOWED, ALLOWED, ALLOWED,
                                           ALLOWED),
    ("SessionState", "setvar"): SetVar(frozenset({"is_hydrated"})),

    # --- signed-out pages ---
    ("SignInState", "load"): same(PUBLIC),
    ("SignInState", "submit"): same(PUBLIC),
    # Two-step sign-in's second step (issue #17): works only from the tab's own server-side
    # "password passed" token; without one it starts over and signs no one in.
    ("SignInState", "submit_code"): same(PUBLIC),
    ("SignInState", "finish_sign_in"): same(PUBLIC),
    ("SignInState", "use_recovery_code"): same(DISPLAY),
    ("SignInState", "back_to_password"): same(DISPLAY),
    ("SignInState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    ("RegisterState", "load"): same(PUBLIC),
    ("RegisterState", "check_password"): same(DISPLAY),
    ("RegisterState", "submit"): same(PUBLIC),
    ("RegisterState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    ("ForgotPasswordState", "load"): same(PUBLIC),
    ("ForgotPasswordState", "submit"): same(PUBLIC),
    ("ForgotPasswordState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    ("ResetPasswordState", "load"): same(PUBLIC),
    ("ResetPasswordState", "check_password"): same(DISPLAY),
    ("ResetPasswordState", "submit"): same(PUBLIC),
    ("ResetPasswordState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    ("ConfirmEmailState", "load"): same(PUBLIC),
    ("ConfirmEmailState", "setvar"): SetVar(frozenset({"is_hydrated"})),

    # --- whose portal a tab can show (after access ended, or with none) ---
    ("AccessState", "load"): OWN_ACCOUNT,
    ("AccessState", "setvar"): SetVar(frozenset({"is_hydrated"})),

    # --- the portal ---
    ("PortalState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    ("HomeState", "load"): PORTAL,
    ("HomeState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    # load is given ?thread=<someone else's conversation>.
    ("MessagesState", "load"): PORTAL_FOREIGN,
    ("MessagesState", "next_page"): PORTAL,
    ("MessagesState", "previous_page"): PORTAL,
    ("MessagesState", "open_thread"): PORTAL_FOREIGN,
    ("MessagesState", "close_thread"): PORTAL,
    ("MessagesState", "start_compose"): same(DISPLAY),
    ("MessagesState", "set_compose_open"): same(DISPLAY),
    # The form names another patient; the message still goes to the session's patient.
    ("MessagesState", "send_message"): PORTAL,
    # thread_id (not settable from the browser) is forced to someone else's conversation.
    ("MessagesState", "send_reply"): PORTAL_FOREIGN,
    # Drafts: the person's own, for the tab's patient. A new message's draft lands on the
    # session's patient whatever the form says; a reply's (thread_id forced foreign, as for
    # send_reply) and a restore/discard given another portal's conversation are refused.
    ("MessagesState", "keep_compose"): PORTAL,
    ("MessagesState", "keep_reply"): PORTAL_FOREIGN,
    ("MessagesState", "restore_draft"): PORTAL_FOREIGN,
    ("MessagesState", "discard_draft"): PORTAL_FOREIGN,
    ("MessagesState", "setvar"): SetVar(frozenset({"is_hydrated", "compose_open"})),
    ("AppointmentsState", "load"): PORTAL,
    ("AppointmentsState", "more_upcoming"): PORTAL,
    ("AppointmentsState", "more_past"): PORTAL,
    ("AppointmentsState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    ("LabsState", "load"): PORTAL,
    ("LabsState", "more_reports"): PORTAL,
    # Another patient's test name is only a filter inside the session's own patient.
    ("LabsState", "show_history"): PORTAL,
    ("LabsState", "set_history_open"): same(DISPLAY),
    ("LabsState", "setvar"): SetVar(frozenset({"is_hydrated", "history_open"})),
    # The symptom check-in (issue #15). Moving through the form is this tab's alone; a tap
    # and a send are aimed at a check-in that is someone else's (the form's, forced foreign).
    ("CheckinState", "load"): PORTAL,
    **{("CheckinState", h): same(DISPLAY) for h in ("next_question", "previous_question",
                                                     "change_answer", "show_symptom")},
    # A tap on an answer keeps it (checkins.save_progress); sending answers the check-in.
    ("CheckinState", "choose"): PORTAL_FOREIGN,
    ("CheckinState", "send_answers"): PORTAL_FOREIGN,
    ("CheckinState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    ("RecordActivityState", "load"): PATIENT_ONLY,
    ("RecordActivityState", "older"): PATIENT_ONLY,
    ("RecordActivityState", "newer"): PATIENT_ONLY,
    ("RecordActivityState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    # Download my record (issue #16): the session's own patient whatever the form says; the
    # button is "email" (the record sent to another patient's address: allowed, it is the
    # patient's choice, and audited as sent).
    ("MyRecordState", "load"): PORTAL,
    ("MyRecordState", "submit"): PORTAL,
    ("MyRecordState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    ("ResourcesState", "load"): PORTAL,
    ("ResourcesState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    ("HelpState", "load"): PORTAL,
    ("HelpState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    ("ManageUsersState", "load"): PATIENT_ONLY,
    # Inviting someone (here: another patient's address) to the session's own patient.
    ("ManageUsersState", "grant"): PATIENT_ONLY,
    ("ManageUsersState", "send_new_link"): PATIENT_ONLY_FOREIGN,
    ("ManageUsersState", "revoke"): PATIENT_ONLY_FOREIGN,
    # Issue #17: "Change access" given another patient's grant.
    ("ManageUsersState", "change_access"): PATIENT_ONLY_FOREIGN,
    ("ManageUsersState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    # Staff open their own Settings (no patient's portal): the office's choices, no record.
    ("SettingsState", "load"): _row(SIGNED_OUT, ALLOWED, ALLOWED, ALLOWED, SENT_AWAY, ALLOWED,
                                    ALLOWED),
    ("SettingsState", "choose_message_email"): STAFF,
    ("SettingsState", "set_dialog_open"): same(DISPLAY),
    ("SettingsState", "set_tab"): same(DISPLAY),
    ("SettingsState", "check_password"): same(DISPLAY),
    ("SettingsState", "change_email"): OWN_ACCOUNT,
    ("SettingsState", "change_password"): OWN_ACCOUNT,
    # When new results are shown (issue #16): the patient's own choice; caregivers follow it.
    ("SettingsState", "save_result_choices"): PATIENT_ONLY,
    ("SettingsState", "set_result_mode"): same(DISPLAY),
    ("SettingsState", "set_result_days"): same(DISPLAY),
    ("SettingsState", "setvar"): SetVar(frozenset({"is_hydrated", "dialog_open", "tab"})),
    # Settings › Two-step sign-in (issue #17): the person's own account, whoever they are.
    **{("TwoStepState", h): OWN_ACCOUNT for h in ("load", "start_setup", "confirm_setup",
                                                  "saved_codes", "make_new_codes", "turn_off")},
    ("TwoStepState", "cancel_setup"): same(DISPLAY),
    ("TwoStepState", "set_off_open"): same(DISPLAY),
    ("TwoStepState", "setvar"): SetVar(frozenset({"is_hydrated", "off_open"})),

    # --- the office ---
    ("AdminState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    **{("AdminPatientsState", h): STAFF for h in ("load", "search", "next_page", "previous_page",
                                                  "create_patient")},
    ("AdminPatientsState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    **{("AdminPatientState", h): STAFF for h in ("load", "save_patient", "send_invitation",
                                                 "send_caregiver_link", "revoke_caregiver",
                                                 "view_as_patient")},
    ("AdminPatientState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    # Print record (PDF) at the desk (issue #16): any patient's, for staff; audited.
    ("AdminPatientState", "print_record"): STAFF,
    # Reset a patient's or caregiver's two-step sign-in (issue #17): administrators only.
    ("AdminPatientState", "reset_two_step"): ADMIN_ONLY,
    **{("AdminAppointmentsState", h): STAFF for h in ("load", "create_appointment", "start_edit",
                                                      "stop_edit", "save_appointment",
                                                      "cancel_appointment", "change_the_date")},
    ("AdminAppointmentsState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    **{("AdminLabsState", h): STAFF for h in ("load", "add_result_row", "enter_report",
                                              "correct_result", "mark_reviewed", "release_now",
                                              "choose_hold")},
    ("AdminLabsState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    **{("AdminCheckinsState", h): STAFF for h in ("load", "save_plan", "stop_plan",
                                                  "show_history", "hide_history", "show_symptom")},
    ("AdminCheckinsState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    **{("AdminMessagesState", h): STAFF for h in ("load", "apply_filters", "next_page",
                                                  "previous_page", "open_thread",
                                                  "close_thread_view", "send_reply", "close_thread",
                                                  "reopen_thread")},
    ("AdminMessagesState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    **{("AdminResourcesState", h): STAFF for h in ("load", "add_link", "start_edit", "stop_edit",
                                                   "save_link", "delete_link", "move_link")},
    ("AdminResourcesState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    **{("AdminOutboxState", h): STAFF for h in ("load", "filter_status", "next_page",
                                                "previous_page", "retry")},
    ("AdminOutboxState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    **{("AdminAuditState", h): STAFF for h in ("load", "apply_filters", "next_page",
                                               "previous_page")},
    ("AdminAuditState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    # Staff accounts are the administrator's alone.
    **{("AdminStaffState", h): ADMIN_ONLY for h in ("load", "create_member", "deactivate",
                                                    "reactivate", "send_reset_link",
                                                    "reset_two_step")},
    ("AdminStaffState", "setvar"): SetVar(frozenset({"is_hydrated"})),

    # issue #15 triage
    # The red-flag banner's "Edit message": only this tab's form.
    ("MessagesState", "edit_message"): same(DISPLAY),
    ("MessagesState", "edit_reply"): same(DISPLAY),
    # The office's triage: an urgent item acknowledged (any patient's: the office's queue),
    # the open conversation assigned (thread forced foreign), the page's own refresh.
    **{("AdminMessagesState", h): STAFF for h in ("assign_thread", "acknowledge",
                                                  "refresh_urgent")},
    # The office's rules for messages: any staff member (records/practice_settings.py).
    **{("AdminOfficeState", h): STAFF for h in ("load", "save")},
    ("AdminOfficeState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    # issue #16: share links. The patient's section (on Download my record): the patient or a
    # caregiver makes, lists and revokes the tab's patient's links (the office's "View as
    # patient" is read-only); a link id of another patient is refused and audited.
    **{("ShareLinksState", h): PORTAL for h in ("load", "older", "newer", "create_link")},
    ("ShareLinksState", "revoke"): PORTAL_FOREIGN,
    ("ShareLinksState", "hide_new_link"): same(DISPLAY),
    ("ShareLinksState", "copied"): same(DISPLAY),
    ("ShareLinksState", "setvar"): SetVar(frozenset({"is_hydrated"})),
    # /shared#<token>: no sign-in; it works from what the browser proves (the token in the
    # URL, the passcode) and opens only the record that token names.
    **{("SharedRecordState", h): same(PUBLIC) for h in ("load", "open_record", "download_pdf",
                                                         "download_fhir")},
    ("SharedRecordState", "leave"): same(DISPLAY),
    ("SharedRecordState", "setvar"): SetVar(frozenset({"is_hydrated"})),
}

# Allowed actions that must leave this audit event (with the person as actor).
AUDITED = {
    ("SessionState", "set_language"): {role: "settings.language" for role in ROLES
                                       if role != "anonymous"},
    ("SessionState", "switch_patient"): {"staff": "portal.viewed_as_patient",
                                          "admin": "portal.viewed_as_patient"},
    ("AdminPatientState", "view_as_patient"): {"staff": "portal.viewed_as_patient",
                                               "admin": "portal.viewed_as_patient"},
    ("MyRecordState", "submit"): {"patient_a": "record.sent.pdf", "patient_b": "record.sent.pdf",
                                  "caregiver": "record.sent.pdf"},
    ("AdminPatientState", "print_record"): {"staff": "record.printed_at_desk",
                                            "admin": "record.printed_at_desk"},
}

def limited_outcome(state_name: str, caregiver_outcome: str, scope: str) -> str:
    """A limited caregiver's outcome: the full caregiver's, but refused outside the scope."""
    area = STATE_AREAS.get(state_name)
    if area is not None and area not in _SCOPE_AREAS[scope] and caregiver_outcome == ALLOWED:
        return REFUSED
    return caregiver_outcome


for (_state, _handler), _entry in list(MATRIX.items()):
    if isinstance(_entry, dict):  # a copy: the rows above share their dicts (PORTAL, STAFF...)
        MATRIX[(_state, _handler)] = {**_entry, **{
            _role: _entry.get(_role) or limited_outcome(_state, _entry["caregiver"], _scope)
            for _role, _scope in LIMITED_ROLES.items()}}

# The shared rows themselves, for the tests that compare an entry with them (outside the
# portal's scoped pages a limited caregiver fares as the full one).
for _shared in (PORTAL, PORTAL_FOREIGN, PATIENT_ONLY, PATIENT_ONLY_FOREIGN, OWN_ACCOUNT, STAFF,
                ADMIN_ONLY):
    _shared.update({_role: _shared["caregiver"] for _role in LIMITED_ROLES})

for _key, _entry in MATRIX.items():  # every role has an outcome for every handler
    assert isinstance(_entry, SetVar) or (set(_entry) == set(ROLES)
                                          and set(_entry.values()) <= set(OUTCOMES)), _key

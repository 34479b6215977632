"""The terms of service shown beside "I agree to the terms of service" (catalogue
sentences: the page shows them with ``t(paragraph, phone=...)``)."""
from carespace_app.i18n import N_

TERMS_OF_SERVICE = [
    N_("CareSpace is the patient portal of your doctor's office. It lets you and the people you "
       "trust see your appointments and lab results and send non-urgent messages to your care "
       "team."),
    N_("Do not use CareSpace for emergencies. Messages are answered by staff during normal "
       "business hours. For an urgent request, call the office at {phone}. For a medical "
       "emergency, call 9-1-1 immediately."),
    N_("Keep your password to yourself. If you want a family member or caregiver to help, grant "
       "them access under Manage Users: they get their own sign-in and full access to your "
       "portal, including all medical records and messages. You can revoke that access at any "
       "time."),
    N_("Your information is protected health information. The office records every time your "
       "record is opened in CareSpace, and you can see that list under \"Who viewed my record\"."),
    N_("Results may appear in CareSpace before your provider has reviewed them with you. Talk to "
       "your care team about what they mean for you."),
    N_("The office may change these terms; we will tell you in CareSpace when we do. If you have "
       "questions, call {phone}."),
]


def terms_text(lang: str = "en") -> list[str]:
    """The paragraphs in ``lang``, with the office's phone."""
    from carespace_app import i18n
    from carespace_app.config import get_settings

    return [i18n.fmt(lang, p, phone=get_settings().office_phone) for p in TERMS_OF_SERVICE]

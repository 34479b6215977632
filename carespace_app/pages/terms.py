"""The terms of service shown beside "I agree to the terms of service"."""
from carespace_app.config import get_settings

_PHONE = get_settings().office_phone

TERMS_OF_SERVICE = [
    "CareSpace is the patient portal of your doctor's office. It lets you and the people you "
    "trust see your appointments and lab results and send non-urgent messages to your care team.",
    "Do not use CareSpace for emergencies. Messages are answered by staff during normal business "
    f"hours. For an urgent request, call the office at {_PHONE}. For a medical emergency, "
    "call 9-1-1 immediately.",
    "Keep your password to yourself. If you want a family member or caregiver to help, grant them "
    "access under Manage Users: they get their own sign-in and full access to your portal, "
    "including all medical records and messages. You can revoke that access at any time.",
    "Your information is protected health information. The office records every time your "
    "record is opened in CareSpace, and you can see that list under \"Who viewed my record\".",
    "Results may appear in CareSpace before your provider has reviewed them with you. Talk to your "
    "care team about what they mean for you.",
    "The office may change these terms; we will tell you in CareSpace when we do. If you have "
    f"questions, call {_PHONE}.",
]

"""A person's language (English or Spanish): the switch saves it, their emails use it."""
from __future__ import annotations

from typing import Optional

from sqlmodel import Session

from carespace_app import i18n
from carespace_app.clock import Clock
from carespace_app.i18n import N_
from carespace_app.models import User
from carespace_app.services.audit import trail
from carespace_app.services.errors import NotAllowed, ValidationError

UNKNOWN_LANGUAGE = N_("Choose English or Español.")


def choose_language(db: Session, actor: User, lang: str, *, clock: Clock,
                    client_ip: Optional[str] = None) -> str:
    """The person's own choice, for themself only: a settings change (audited as such,
    not as a change to anyone's record). Saying the same language again writes nothing."""
    if lang not in i18n.LANGUAGES:
        raise ValidationError(UNKNOWN_LANGUAGE)
    user = db.get(User, actor.id) if actor is not None and actor.id else None
    if user is None or not user.is_active:
        raise NotAllowed()
    _keep(db, user, lang, detail=lang, client_ip=client_ip, clock=clock)
    return lang


def adopt_at_sign_in(db: Session, user: User, lang: str, *, clock: Clock,
                     client_ip: Optional[str] = None) -> None:
    """An account that never chose (made before languages, or by the office) takes the
    language of the browser it signs in from (the one the sign-in page was shown in), and
    keeps it from then on, as a first visit would; a choice already made is never undone."""
    if user.language_chosen or lang not in i18n.LANGUAGES:
        return
    _keep(db, user, lang, detail=f"{lang} (the browser's, at sign-in)", client_ip=client_ip,
          clock=clock)


def _keep(db: Session, user: User, lang: str, *, detail: str, client_ip: Optional[str],
          clock: Clock) -> None:
    """The person's language from now on, a choice made; a change is audited as a settings
    change (the same language again writes no audit row)."""
    if not user.language_chosen:
        user.language_chosen = True
        db.add(user)
    if user.language != lang:
        user.language = lang
        db.add(user)
        trail.record(db, "settings.language", actor=user, detail=detail, client_ip=client_ip,
                     clock=clock)

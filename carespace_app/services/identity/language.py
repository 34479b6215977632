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
    if user.language != lang:
        user.language = lang
        db.add(user)
        trail.record(db, "settings.language", actor=user, detail=lang, client_ip=client_ip,
                     clock=clock)
    return lang

"""One settings object, read once (carespace_app/config.py): the app, rxconfig.py, the CLI and
every other process agree on the port, the public address and the practice's own words.

The bug this guards: with `PORT=8080 make run` and no CARESPACE_BASE_URL, Reflex served on
8080 while every emailed link pointed at port 3000.
"""
from __future__ import annotations

import email
import email.policy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from carespace_app import config, routes
from carespace_app.config import PROJECT_ROOT, get_settings
from tests.test_cli import PATIENT, _smtp_server, database, run  # noqa: F401 (fixture)

# Every variable that changes what get_settings() returns, cleared so a test starts from the
# defaults README promises (the test database and key stay: they are the test's own).
OURS = ("PORT", "CARESPACE_BASE_URL", "REFLEX_API_URL", "REFLEX_REDIS_URL",
        "CARESPACE_TRUSTED_PROXY_HOPS", "CARESPACE_TIMEZONE", "CARESPACE_SMTP_HOST",
        "CARESPACE_SMTP_PORT", "CARESPACE_SMTP_USER", "CARESPACE_SMTP_PASSWORD",
        "CARESPACE_SMTP_STARTTLS", "CARESPACE_SMTP_SSL", "CARESPACE_MAIL_FROM",
        "CARESPACE_BCRYPT_ROUNDS", "CARESPACE_BCRYPT_THREADS", "CARESPACE_COOKIE_SECURE",
        "CARESPACE_BACKGROUND_JOBS", "CARESPACE_RESPAWN_WORKERS", "CARESPACE_DB_TIMEOUT",
        "CARESPACE_PRACTICE_NAME", "CARESPACE_OFFICE_PHONE", "CARESPACE_STAFF_MFA")


@pytest.fixture
def environment(monkeypatch):
    """Set variables (None: unset) and read the settings again, as a new process would."""
    for name in OURS:
        monkeypatch.delenv(name, raising=False)

    def settings(**values):
        for name, value in values.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        return get_settings()

    yield settings
    get_settings.cache_clear()  # later tests read the suite's own environment again


def _child_env(**values) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in OURS}
    env.update({k: v for k, v in values.items() if v is not None})
    return env


def _python(code: str, **values) -> str:
    """Run code in a fresh process (as Reflex, the CLI or a worker would) and return stdout."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=_child_env(**values), cwd=PROJECT_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


# --- the port and the public address ------------------------------------------------------------


def test_staff_must_use_two_step_sign_in_unless_the_practice_says_optional(environment):
    assert environment().staff_mfa == config.STAFF_MFA_REQUIRED
    assert environment(CARESPACE_STAFF_MFA=" Optional ").staff_mfa == config.STAFF_MFA_OPTIONAL
    with pytest.raises(SystemExit, match="CARESPACE_STAFF_MFA must be 'required' or 'optional'"):
        environment(CARESPACE_STAFF_MFA="sometimes")


def test_with_port_8080_and_no_base_url_links_point_at_8080(environment):
    settings = environment(PORT="8080")
    assert (settings.port, settings.base_url, settings.api_url) == (
        8080, "http://localhost:8080", "http://localhost:8080")
    assert routes.password_reset_link("abc") == "http://localhost:8080/reset-password?token=abc"
    assert routes.item_link(routes.SIGN_IN) == f"http://localhost:8080{routes.SIGN_IN}"


def test_the_base_url_is_the_public_address_when_set(environment):
    settings = environment(PORT="8080", CARESPACE_BASE_URL="https://portal.example.org/")
    assert settings.base_url == "https://portal.example.org"  # no trailing slash
    assert settings.cookie_secure  # https: the cookie is Secure unless told otherwise
    assert routes.registration_link("t") == "https://portal.example.org/register?token=t"


def test_rxconfig_serves_where_the_links_point():
    """Reflex's own config, loaded as `reflex run` loads it, with PORT=8080 only."""
    out = _python(
        "import json, rxconfig\n"
        "from carespace_app.config import get_settings\n"
        "c = rxconfig.config\n"
        "print(json.dumps([c.frontend_port, c.backend_port, c.deploy_url, c.api_url,\n"
        "                  list(c.cors_allowed_origins), get_settings().base_url]))",
        PORT="8080")
    front, back, deploy, api, cors, base = json.loads(out.strip().splitlines()[-1])
    assert (front, back) == (8080, 8080)
    assert deploy == api == base == "http://localhost:8080"
    assert cors == [base]


def test_the_cli_emails_links_at_the_port_the_portal_serves(database):  # noqa: F811
    controller, port, received = _smtp_server()
    try:
        assert run(database, *PATIENT).returncode == 0
        invited = run(database, "invite", "--mrn", "M-77", PORT="8080",
                      CARESPACE_SMTP_HOST="127.0.0.1", CARESPACE_SMTP_PORT=str(port),
                      CARESPACE_SMTP_STARTTLS="false")
    finally:
        controller.stop()
    assert invited.returncode == 0, invited.stderr
    [envelope] = received
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    body = message.get_body(("plain",)).get_content()
    assert re.search(r"http://localhost:8080/register\?token=\S+", body), body


# --- the practice's own words ---------------------------------------------------------------


def test_practice_name_phone_and_sender_default_to_todays(environment):
    settings = environment()
    assert settings.practice_name == config.DEFAULT_PRACTICE_NAME
    assert settings.office_phone == config.DEFAULT_OFFICE_PHONE
    assert settings.office_phone_tel == "+1" + re.sub(r"\D", "", config.DEFAULT_OFFICE_PHONE)
    assert settings.mail_from == config.DEFAULT_SENDER
    assert settings.mail_from_address in config.DEFAULT_SENDER and "<" not in settings.mail_from_address


@pytest.mark.parametrize("typed, tel", [("(501) 555-0199", "+15015550199"),
                                        ("1-501-555-0199", "+15015550199"),
                                        ("+44 20 7946 0958", "+442079460958")])
def test_the_office_phone_dials_what_it_says(environment, typed, tel):
    settings = environment(CARESPACE_OFFICE_PHONE=typed)
    assert (settings.office_phone, settings.office_phone_tel) == (typed, tel)


def test_every_page_and_email_says_the_practice_of_the_settings():
    """Another practice's name, phone and sender reach the footer of every email, the
    sentences of the services, the pages and the app's header, with no code changed."""
    out = _python(
        "from carespace_app.services.mail import outbox, notifications\n"
        "from carespace_app.state import session\n"
        "from carespace_app.pages import terms, labs\n"
        "from carespace_app.components.ui import brand, office_phone_link\n"
        "print(outbox.FOOTER.replace('\\n', ' '))\n"
        "print(notifications.QUESTIONS_LINE)\n"
        "print(session.SOMETHING_WRONG)\n"
        "print(terms.terms_text()[-1])\n"
        "from carespace_app import i18n\n"
        "print(i18n.fmt('en', labs.CALL_OFFICE, **labs.CALL_OFFICE_PARAMS))\n"
        "print(str(office_phone_link().render()))\n"
        "print(str(brand().render()))\n",
        CARESPACE_PRACTICE_NAME="Ozark Cancer Care", CARESPACE_OFFICE_PHONE="(501) 555-0199",
        CARESPACE_MAIL_FROM="Ozark Cancer Care <portal@ozark.example>")
    footer, questions, wrong, terms, call, phone_link, brand = out.strip().splitlines()[-7:]
    assert "the patient portal of Ozark Cancer Care" in footer and "(501) 555-0199" in footer
    for sentence in (questions, wrong, terms, call, phone_link):
        assert "(501) 555-0199" in sentence
    assert "tel:+15015550199" in phone_link
    assert "Ozark Cancer Care" in brand


# --- one reading, sentences when it makes no sense ----------------------------------------------


@pytest.mark.parametrize("name, value", [("PORT", "eighty"), ("CARESPACE_SMTP_PORT", "25a"),
                                         ("CARESPACE_TRUSTED_PROXY_HOPS", "one"),
                                         ("CARESPACE_OFFICE_PHONE", "call us")])
def test_a_value_that_makes_no_sense_stops_with_a_sentence(environment, name, value):
    with pytest.raises(SystemExit) as stopped:
        environment(**{name: value})
    assert str(stopped.value).startswith(f"{name} must be ")
    assert repr(value) in str(stopped.value)


def test_the_settings_are_read_once(environment):
    first = environment(PORT="8080")
    os.environ["PORT"] = "9090"  # undone by monkeypatch with the rest
    assert get_settings() is first and get_settings().port == 8080


def test_nothing_else_reads_the_environment():
    """config.py is the one reader: a new variable read elsewhere would have its own default."""
    readers = []
    for path in [*sorted((PROJECT_ROOT / "carespace_app").rglob("*.py")), PROJECT_ROOT / "rxconfig.py"]:
        rel = path.relative_to(PROJECT_ROOT).as_posix()
        if rel == "carespace_app/config.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"os\.environ|getenv\(", line):
                readers.append(f"{rel}:{number}: {line.strip()}")
    assert not readers, "\n".join(readers)


def _readme_configuration() -> dict[str, str]:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].startswith("`"):
            for name in re.findall(r"`([A-Z_]+)`", cells[0]):
                rows[name] = cells[1]
    return rows


# Read by others, not by get_settings(): Granian counts its workers; the tests choose their db.
NOT_OURS = {"GRANIAN_WORKERS", "CARESPACE_TEST_DATABASE_URL"}


def test_the_readme_lists_every_variable_and_its_true_default(environment):
    documented = _readme_configuration()
    source = Path(config.__file__).read_text(encoding="utf-8")
    read = set(re.findall(r"\"((?:CARESPACE|REFLEX)_[A-Z_]+|PORT)\"", source))
    assert read <= set(documented), read - set(documented)
    assert set(documented) - NOT_OURS <= read, set(documented) - NOT_OURS - read

    s = environment()
    expected = {
        "PORT": f"`{s.port}`", "CARESPACE_BASE_URL": "`http://localhost:$PORT`",
        "CARESPACE_SMTP_PORT": f"`{s.smtp_port}`", "CARESPACE_MAIL_FROM": f"`{s.mail_from}`",
        "CARESPACE_TIMEZONE": f"`{s.timezone}`", "CARESPACE_BCRYPT_ROUNDS": f"`{s.bcrypt_rounds}`",
        "CARESPACE_TRUSTED_PROXY_HOPS": f"`{s.trusted_proxy_hops}`",
        "CARESPACE_DB_TIMEOUT": f"`{s.db_timeout}`",
        "CARESPACE_SMTP_STARTTLS": f"`{str(s.smtp_starttls).lower()}`",
        "CARESPACE_SMTP_SSL": f"`{str(s.smtp_ssl).lower()}`",
        "CARESPACE_BACKGROUND_JOBS": f"`{str(s.run_background_jobs).lower()}`",
        "CARESPACE_PRACTICE_NAME": f"`{s.practice_name}`",
        "CARESPACE_OFFICE_PHONE": f"`{s.office_phone}`",
        "CARESPACE_RESPAWN_WORKERS": f"`{str(s.respawn_workers).lower()}`",
    }
    assert {name: documented.get(name) for name in expected} == expected
    assert s.base_url == f"http://localhost:{s.port}" and s.redis_url is None
    assert not s.smtp_enabled and s.respawn_workers and not s.cookie_secure

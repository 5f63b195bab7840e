"""Fixtures for the annotation tests: a real Label Studio server and a tiny hand-made taxonomy.

The ``studio`` fixture starts a real Label Studio on 127.0.0.1 on a free port, once per test
session, with a fresh data folder; its virtual environment is the user's cached one
(``$MORALGAP_STUDIO_HOME/venv``, created on first use, reused by every later run). Two
annotator users sign up through the organisation's invite link, the way people join, and
each gets their own API token.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from moralgap.records import Expression, Taxonomy, Value


@dataclass
class Studio:
    url: str
    token: str
    home: Path
    server: object
    client: object
    annotators: dict  # email -> StudioClient authenticated as that user


def signup_annotator(url: str, admin_token: str, email: str, password: str) -> str:
    """Join the organisation through its invite link and return the new user's own API token."""
    admin = httpx.Client(base_url=url, headers={"Authorization": f"Token {admin_token}"}, timeout=30)
    invite = admin.get("/api/invite").raise_for_status().json()["invite_url"]
    with httpx.Client(base_url=url, follow_redirects=False, timeout=30) as browser:
        browser.get(invite).raise_for_status()
        csrf = browser.cookies.get("csrftoken")
        r = browser.post(invite, data={"email": email, "password": password, "csrfmiddlewaretoken": csrf},
                         headers={"Referer": url + invite, "X-CSRFToken": csrf})
        assert r.status_code == 302, f"sign-up of {email} failed with HTTP {r.status_code}"
        return browser.get("/api/current-user/token").raise_for_status().json()["token"]


@pytest.fixture(scope="session")
def studio(tmp_path_factory):
    from moralgap.annotation.studio_client import StudioClient, StudioTarget
    from moralgap.annotation.studio_server import StudioServer, StudioServerError, ensure_venv, free_port, studio_home

    try:
        venv = ensure_venv(studio_home() / "venv")
    except StudioServerError as exc:
        # CI must run these tests against a real server, so there a failed install is a failure;
        # elsewhere (no package registry at hand) skip with the reason.
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Label Studio cannot be installed here: {exc}")
    home = tmp_path_factory.mktemp("studio-home")
    server = StudioServer(home, venv=venv, port=free_port())
    server.start(timeout_s=300)
    try:
        url = server.status().url
        token = server.token()
        annotators = {}
        for i, email in enumerate(("ann.one@example.org", "ann.two@example.org"), start=1):
            user_token = signup_annotator(url, token, email, f"Annot-{i}-{os.getpid()}-pass")
            annotators[email] = StudioClient(StudioTarget(url, user_token))
        yield Studio(url=url, token=token, home=home, server=server,
                     client=StudioClient(StudioTarget(url, token)), annotators=annotators)
    finally:
        assert server.stop(), "the server was not running at the end of the session"
        assert not server.status().running and not server.state_path.exists()


def _value(vid, name, parent=None, definition="", size=2, status="proposed"):
    return Value(id=vid, name=name, parent=parent, definition=definition, size=size, status=status,
                 keywords=[name.lower()], exemplars=[name.lower()])


@pytest.fixture(scope="session")
def small_folder():
    """Five values, two of them grouped, four expressions, in a TaxonomyFolder (no centroids).

    Shared by the session: taxonomy edits never change their input folder.
    """
    from moralgap.taxonomy.folder import TaxonomyFolder

    values = [
        _value("vcare000001", "Care", "Care/Harm", "Looking after others' needs."),
        _value("vcomp000002", "Compassion", "Care/Harm", "Feeling with someone who suffers."),
        _value("vhone000003", "Honesty", None, "Telling the truth."),
        _value("vfami000004", "Family", "Loyalty", "Duties to relatives."),
        _value("vpriv000005", "Privacy", None, "Keeping one's matters to oneself."),
    ]
    rationales = {
        "j1": "You should care for your sister when she is sick.",
        "j2": "Show some compassion, he was grieving.",
        "j3": "Honesty matters; you lied to your family.",
    }
    expressions = []
    spans = [("j1", "care", "vcare000001"), ("j2", "compassion", "vcomp000002"),
             ("j3", "Honesty", "vhone000003"), ("j3", "family", "vfami000004")]
    for n, (rid, word, vid) in enumerate(spans):
        start = rationales[rid].index(word)
        expressions.append(Expression(id=f"e{n}", rationale_id=rid, start=start, end=start + len(word), text=word,
                                      norm=word.lower(), rule="test", value_id=vid, similarity=0.9))
    tax = Taxonomy(version=3, name="testtax", values=values)
    return TaxonomyFolder(tax, expressions, {}), rationales

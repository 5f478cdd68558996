"""Both languages: the catalog is complete, and the right language is chosen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "app" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"


def test_every_visible_string_is_in_the_catalog_and_translated(tmp_path):
    """Does every string marked in code and templates have a Chinese translation?"""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "--quiet",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "N_",
            "-k",
            "_l",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    with pot.open("rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    with PO.open("rb") as fh:
        catalog = read_po(fh)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(str(m) for m in wanted - translated)
    assert not missing, f"untranslated (run `make extract-messages` and translate): {missing}"


def test_placeholders_survive_translation():
    """Does every translation keep the placeholders of its English original?"""
    import re

    with PO.open("rb") as fh:
        for m in read_po(fh):
            if m.id and m.string:
                ids = m.id if isinstance(m.id, tuple) else (m.id,)  # plurals: one id a form
                strings = m.string if isinstance(m.string, tuple) else (m.string,)
                names = set(re.findall(r"%\((\w+)\)s", ids[-1]))
                for string in strings:
                    assert names == set(re.findall(r"%\((\w+)\)s", string)), m.id


def test_accept_language_chooses_the_page_language(client):
    """Does an anonymous visitor get the language of Accept-Language?"""
    zh = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    en = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.8"}).get_data(as_text=True)
    assert 'lang="zh-CN"' in zh and "用户名" in zh
    assert 'lang="en"' in en and "Username" in en


def test_language_switch_for_an_anonymous_visitor(client):
    """Does the header switch change the language for this session?"""
    token = client.csrf_token()
    client.post("/language", data={"csrf_token": token, "lang": "zh_CN", "next": "/login"})
    html = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "用户名" in html


def test_language_switch_is_saved_for_a_user(login_as):
    """Does the header switch, for a logged-in user, save their language setting?"""
    from sqlalchemy import select

    from app.extensions import db
    from app.people.models import User

    client = login_as("alice")
    client.form_post("/language", {"lang": "zh_CN", "next": "/"})
    assert db.session.scalar(select(User.language).where(User.username == "alice")) == "zh_CN"


def test_error_pages_in_both_languages(client):
    """Is the 404 page in the visitor's language?"""
    zh = client.get("/nowhere", headers={"Accept-Language": "zh-CN"})
    en = client.get("/nowhere", headers={"Accept-Language": "en"})
    assert zh.status_code == en.status_code == 404
    assert "This page does not exist" in en.get_data(as_text=True)
    assert "This page does not exist" not in zh.get_data(as_text=True)
    assert "404" in zh.get_data(as_text=True)

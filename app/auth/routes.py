"""Login, logout, language switch, profile, session timeout."""

from __future__ import annotations

import time
import unicodedata
from urllib.parse import unquote, urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from app import signals, unit_of_work
from app.auth import services
from app.auth.forms import (
    LanguageForm,
    LoginForm,
    LogoutForm,
    PasswordForm,
    ProfileLanguageForm,
    RevokeTokenForm,
    TokenForm,
)
from app.auth.models import ApiToken
from app.config import LANGUAGES
from app.errors import row_id
from app.extensions import db, utcnow
from app.i18n import translate
from app.people import services as people
from app.web import run_form

bp = Blueprint("auth", __name__)


def is_local_path(target: str) -> bool:
    """Is ``target`` a path on this site that no browser reads as another host?

    Browsers forgive much: they drop tabs and newlines inside a URL, read ``\\`` as ``/``,
    take ``//host`` (and ``///host``) as another host, and some decode ``%2F`` / ``%5C``
    before they look. So a target is followed only when it starts with exactly one ``/``,
    holds no backslash, control, space or format character, and still reads as a bare
    path once percent-decoded (and stripped of what a browser drops)."""
    if not target or len(target) > 2000:
        return False
    if any(unicodedata.category(c)[0] in "CZ" for c in target):
        return False  # tabs, newlines, spaces, zero-width and direction marks
    decoded = "".join(c for c in unquote(target) if unicodedata.category(c)[0] not in "CZ")
    for text in (target, decoded):
        if not text.startswith("/") or text[1:2] in ("/", "\\") or "\\" in text[:3]:
            return False
        parts = urlsplit(text)
        if parts.scheme or parts.netloc:
            return False
    return "\\" not in target


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login (no open redirect)."""
    if target and is_local_path(target):
        return target
    return url_for("dashboard.index")


def _landing(user) -> str:
    """Where a login without ``next`` lands: where a feature built on this one asks
    (``signals.login_landing``: open read-and-understood tasks come first), else the
    dashboard."""
    landing = signals.first_answer(signals.login_landing, user, session=db.session)
    return landing or url_for("dashboard.index")


@bp.before_app_request
def enforce_session_timeout():
    """Log out a browser session idle for longer than QDMS_SESSION_TIMEOUT_MINUTES."""
    if request.path.startswith("/api/"):  # every API blueprint: the token, never the session
        return None
    if request.blueprint == "bootstrap" or request.endpoint == "static":
        return None
    if not current_user.is_authenticated:
        return None
    user = current_user._get_current_object()
    if session.get("generation") != user.session_generation:
        # a logout elsewhere or a password change ended this session (ADR 0039)
        logout_user()
        session.clear()
        flash(_("Your session has ended. Please log in again."), "warning")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    now = time.time()
    timeout = current_app.config["QDMS_SESSION_TIMEOUT_MINUTES"] * 60
    last_seen = session.get("last_seen")
    if last_seen is None or now - float(last_seen) > timeout:
        services.record_logout(db.session, user, reason="session timeout")
        logout_user()
        session.clear()
        flash(_("Your session has expired. Please log in again."), "warning")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    session["last_seen"] = now
    session.permanent = True
    return None


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        cfg = current_app.config
        result = services.authenticate(
            db.session,
            form.username.data,
            form.password.data,
            threshold=cfg["QDMS_LOCKOUT_THRESHOLD"],
            lock_minutes=cfg["QDMS_LOCKOUT_MINUTES"],
        )
        if not result.ok:
            unit_of_work.keep()  # the failure is counted and audited although refused
            flash(translate(result.error), "danger")
            return render_template("auth/login.html", form=form), 401
        session.clear()  # a fresh session on login (no fixation)
        login_user(result.user)
        session["generation"] = result.user.session_generation
        session["last_seen"] = time.time()
        session.permanent = True
        return redirect(safe_next(form.next.data) if form.next.data else _landing(result.user))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    form = LogoutForm()
    if current_user.is_authenticated and form.validate_on_submit():
        services.record_logout(db.session, current_user._get_current_object(), everywhere=True)
        logout_user()
        session.clear()
        flash(_("You have been logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language")
def switch_language():
    form = LanguageForm()
    if form.validate_on_submit() and form.lang.data in LANGUAGES:
        session["lang"] = form.lang.data
        if current_user.is_authenticated:
            people.set_language(db.session, current_user._get_current_object(), form.lang.data)
    return redirect(safe_next(form.next.data))


def _profile_page(language_form=None, password_form=None, token_form=None, new_token=None):
    user = current_user._get_current_object()
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    ).all()
    return render_template(
        "auth/profile.html",
        language_form=language_form or ProfileLanguageForm(language=user.language or ""),
        password_form=password_form or PasswordForm(),
        # a form not posted starts empty (the token just made leaves no name behind)
        token_form=token_form or TokenForm(formdata=None),
        revoke_form=RevokeTokenForm(),
        tokens=tokens,
        new_token=new_token,
        now=utcnow(),
    )


@bp.get("/profile")
@login_required
def profile():
    return _profile_page()


@bp.post("/profile/language")
@login_required
def profile_language():
    form = ProfileLanguageForm()
    if not form.validate_on_submit():
        return _profile_page(language_form=form), 400
    user = current_user._get_current_object()
    people.set_language(db.session, user, form.language.data or None)
    session.pop("lang", None)
    flash(_("Your language setting is saved."), "success")
    return redirect(url_for("auth.profile"))


@bp.post("/profile/password")
@login_required
def profile_password():
    form = PasswordForm()

    def change():
        return services.change_password(
            db.session,
            current_user._get_current_object(),
            form.current_password.data,
            form.new_password.data,
            min_length=current_app.config["QDMS_PASSWORD_MIN_LENGTH"],
        )

    def done(generation):
        session["generation"] = generation  # this session goes on; the others end
        flash(_("Your password has been changed."), "success")
        return redirect(url_for("auth.profile"))

    return run_form(
        form,
        change,
        on_success=done,
        render=lambda status: (_profile_page(password_form=form), status),
    )


@bp.post("/profile/tokens")
@login_required
def profile_token_create():
    form = TokenForm()
    if not form.validate_on_submit():
        return _profile_page(token_form=form), 400
    user = current_user._get_current_object()
    days = current_app.config["QDMS_API_TOKEN_DAYS"]
    token = services.create_token(db.session, user, user, form.name.data.strip(), days=days)
    return _profile_page(new_token=token)


@bp.post("/profile/tokens/revoke")
@login_required
def profile_token_revoke():
    form = RevokeTokenForm()
    user = current_user._get_current_object()
    row = None
    if form.validate_on_submit() and row_id(form.token_id.data):
        row = db.session.get(ApiToken, row_id(form.token_id.data))
    if row is None or row.user_id != user.id:
        flash(_("No such token."), "danger")
        return redirect(url_for("auth.profile"))
    services.revoke_token(db.session, user, row.id)
    flash(_("The token has been revoked."), "success")
    return redirect(url_for("auth.profile"))

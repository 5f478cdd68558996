"""qdms: document control and ISO 9001 quality-system manager.

The app factory is the composition root: it may import every feature. Its imports are
inside the functions because every module of the package imports this one first (the PDF
worker processes import only ``app.pdf``): importing ``app`` must not import the features.
"""

from __future__ import annotations

import functools
import logging

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import joinedload
from werkzeug.routing import Rule

from app import config as cfg
from app import unit_of_work
from app.extensions import babel, csrf, db, login_manager, migrate, set_timezone

log = logging.getLogger(__name__)


def create_app(config: dict | None = None) -> Flask:
    """Build the application: defaults → ``QDMS_*`` environment → ``config`` overrides."""
    settings = cfg.defaults()
    settings.update(cfg.from_environment())
    settings.update(config or {})
    cfg.finalise(settings)
    app = _Flask(
        __name__,
        template_folder=str(cfg.PROJECT_ROOT / "templates"),
        static_folder=str(cfg.PROJECT_ROOT / "static"),
        instance_path=str(settings["QDMS_INSTANCE_DIR"]),
    )
    app.config.update(settings)
    set_timezone(settings["QDMS_TIMEZONE"])

    _init_extensions(app)
    _connect_features()
    _register_blueprints(app)
    _register_template_helpers(app)

    from app.cli import register_commands  # the factory's imports: see the module docstring
    from app.error_pages import register_error_handlers
    from app.security import add_security_headers, hide_server_version
    from app.web import check_request_text

    register_error_handlers(app)
    app.before_request(check_request_text)
    unit_of_work.init_app(app, db.session)
    register_commands(app)
    from app import pdf

    pdf.init_app(app)
    from app.search import sync

    sync.install(db.session)
    app.after_request(add_security_headers)
    hide_server_version()
    return app


class LazyBuildRule(Rule):
    """A URL rule whose builders (the code ``url_for`` runs) are compiled at its first
    ``url_for``, not when the app is made.

    Werkzeug compiles two Python functions per rule when the rule is added; for some 150
    rules that was two fifths of ``create_app()``, paid by every test, command and worker,
    though most rules are never built by most of them. Matching is unchanged, and a
    builder, once compiled, is the one Werkzeug would have made."""

    def _compile_builder(self, append_unknown: bool = True):
        compile_builder = super()._compile_builder
        compiled = []

        def build(rule, /, **values):
            if not compiled:  # a race compiles twice, both the same
                compiled.append(compile_builder(append_unknown))
            return compiled[0](rule, **values)

        return build


class _Flask(Flask):
    """Flask, with URL rules that compile their builders at first use."""

    url_rule_class = LazyBuildRule


def _init_extensions(app: Flask) -> None:
    from flask_bootstrap import Bootstrap5  # the factory's imports: see the module docstring

    from app import models  # noqa: F401  (every table in the metadata)
    from app.audit_trail.services import install_guards, use_key
    from app.errors import N_
    from app.i18n import select_locale

    db.init_app(app)
    migrate.init_app(app, db, directory=str(cfg.PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(cfg.PROJECT_ROOT / "app" / "translations"),
    )
    Bootstrap5(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = N_("Please log in to open this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    from flask_babel import gettext

    login_manager.localize_callback = gettext

    @login_manager.user_loader
    def load_user(user_id: str):
        from app.people.models import User  # the factory's imports: see the module docstring

        # Every signed-in request loads the user: its roles in the same statement (the
        # relationship's own selectin load would be a second one).
        user = (
            db.session.get(User, int(user_id), options=[joinedload(User.role_rows)])
            if user_id.isdigit()
            else None
        )
        return user if user is not None and user.is_active else None

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            synchronous = app.config["QDMS_SQLITE_SYNCHRONOUS"]
            if synchronous not in ("FULL", "NORMAL"):
                raise ValueError(f"QDMS_SQLITE_SYNCHRONOUS={synchronous!r}: FULL or NORMAL")
            event.listen(db.engine, "connect", functools.partial(_sqlite_pragmas, synchronous))
    install_guards(db.session)
    use_key(app.config["QDMS_AUDIT_KEY"])
    from app import passwords

    passwords.configure(app.config["QDMS_ARGON2_TIME_COST"], app.config["QDMS_ARGON2_MEMORY_KIB"])
    from app.auth import services as auth

    auth.configure_lockout(app.config["QDMS_LOCKOUT_THRESHOLD"], app.config["QDMS_LOCKOUT_MINUTES"])
    from app.documents import printing

    printing.configure(lay_out_uploads=app.config["QDMS_LAY_OUT_UPLOADS"])


def _sqlite_pragmas(synchronous: str, dbapi_connection, connection_record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA synchronous={synchronous}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _connect_features() -> None:
    """Import the modules through which features plug into those they build on, so that
    each is connected once per process, whatever a request or command imports later:
    receivers of app/signals.py, grants of reading documents, search index builders
    (nonconformities, documents, external, records: the order of the search page's
    facets)."""
    # the factory's imports: see the module docstring
    from app.audits import search as _audit_builder  # noqa: F401
    from app.capa import search as _nc_builder  # noqa: F401
    from app.complaints import search as _complaint_builder  # noqa: F401
    from app.distribution import permissions as _grant  # noqa: F401  (issued → readable)
    from app.distribution import services as _receivers  # noqa: F401
    from app.documents import search as _document_builder  # noqa: F401
    from app.external import search as _external_builder  # noqa: F401
    from app.kpis import rules as kpi_rules
    from app.records import search as _record_builder  # noqa: F401
    from app.reviews import actions as review_actions

    review_actions.register()  # the review's outputs in "My actions" (app.capa.action_sources)

    kpi_rules.install()  # the NC rule "KPI at or above T" (capa cannot import the KPIs)


def _register_blueprints(app: Flask) -> None:
    from app import api as api_pkg  # the factory's imports: see the module docstring
    from app.audit_trail import api as audit_api
    from app.audit_trail.routes import bp as audit_bp
    from app.audits import api as audits_api
    from app.audits.routes import bp as audits_bp
    from app.auth.routes import bp as auth_bp
    from app.capa import api as capa_api
    from app.capa.routes import bp as capa_bp
    from app.complaints import api as complaints_api
    from app.complaints.routes import bp as complaints_bp
    from app.dashboard.routes import bp as dashboard_bp
    from app.distribution import api as distribution_api
    from app.distribution.routes import bp as distribution_bp
    from app.documents import api as documents_api
    from app.documents.routes import bp as documents_bp
    from app.external import api as external_api
    from app.external.routes import bp as external_bp
    from app.kpis import api as kpis_api
    from app.kpis.routes import bp as kpis_bp
    from app.notifications.routes import bp as notifications_bp
    from app.people import api as people_api
    from app.people.routes import bp as people_bp
    from app.records import api as records_api
    from app.records.routes import bp as records_bp
    from app.retention import api as retention_api
    from app.retention.routes import bp as retention_bp
    from app.reviews import api as reviews_api
    from app.reviews.routes import bp as reviews_bp
    from app.risks import api as risks_api
    from app.risks.routes import bp as risks_bp
    from app.search import api as search_api
    from app.search.routes import bp as search_bp

    # <id:name>, a row id in a path, for pages as for the API (bounded: app.api.IdConverter)
    app.url_map.converters["id"] = api_pkg.IdConverter
    for bp in (
        auth_bp,
        dashboard_bp,
        documents_bp,
        distribution_bp,
        people_bp,
        audit_bp,
        external_bp,
        notifications_bp,
        search_bp,
        records_bp,
        retention_bp,
        risks_bp,
        capa_bp,
        audits_bp,
        complaints_bp,
        kpis_bp,
        reviews_bp,
    ):
        app.register_blueprint(bp)
    api_pkg.init_app(
        app,
        [
            documents_api.blp,
            distribution_api.blp,
            external_api.blp,
            records_api.blp,
            retention_api.blp,
            risks_api.blp,
            capa_api.blp,
            audits_api.blp,
            complaints_api.blp,
            kpis_api.blp,
            reviews_api.blp,
            people_api.blp,
            audit_api.blp,
            search_api.blp,
        ],
    )


def _register_template_helpers(app: Flask) -> None:
    # the factory's imports: see the module docstring
    from flask import has_request_context
    from flask_babel import get_translations
    from flask_login import current_user
    from jinja2 import ext as jinja_ext

    from app.audit_trail.permissions import can_view_audit_details, can_view_audit_trail
    from app.audit_trail.routes import trail_views
    from app.distribution import models as distribution
    from app.distribution import permissions as distribution_permissions
    from app.distribution.services import open_task_count
    from app.documents import models as documents
    from app.documents import permissions as document_permissions
    from app.i18n import LANGUAGE_NAMES, current_language, localtime
    from app.people.models import ROLE_LABELS
    from app.people.permissions import can_manage_people
    from app.retention.permissions import can_view_retention
    from app.signatures.models import MEANINGS
    from app.web import keep_numbers_whole

    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["numbers_whole"] = keep_numbers_whole
    # a department's, type's or record type's name, a document's title: in the page's
    # language (the English name falls back to the Chinese one; app/names.py)
    app.jinja_env.filters["local"] = lambda obj: (
        "" if obj is None else obj.name_in(current_language())
    )
    app.jinja_env.globals.update(
        can_manage_people=can_manage_people,
        can_view_audit_trail=can_view_audit_trail,
        can_view_retention=can_view_retention,
        LANGUAGE_NAMES=LANGUAGE_NAMES,
        ROLE_LABELS=ROLE_LABELS,
        MEANINGS=MEANINGS,
        trail_views=trail_views,
        can_view_audit_details=can_view_audit_details,
        current_language=current_language,
        REVISION_STATUSES=documents.REVISION_STATUSES,
        DOCUMENT_STATUSES=documents.DOCUMENT_STATUSES,
        CONFIDENTIALITY=documents.CONFIDENTIALITY,
        CHANGE_TYPES=documents.CHANGE_TYPES,
        RETENTION_FROM=documents.RETENTION_FROM,
        can_create_document=document_permissions.can_create_document,
        can_manage_document_types=document_permissions.can_manage_document_types,
        COPY_STATUSES=distribution.COPY_STATUSES,
        ACK_STATUSES=distribution.ACK_STATUSES,
        MEDIA=distribution.MEDIA,
        DISPOSITIONS=distribution.DISPOSITIONS,
        can_issue=distribution_permissions.can_issue,
        can_print_copy=distribution_permissions.can_print_copy,
        can_view_register=distribution_permissions.can_view_register,
        can_view_matrix=distribution_permissions.can_view_matrix,
        can_view_training_of=distribution_permissions.can_view_training_of,
        can_sign_receipt=distribution_permissions.can_sign_receipt,
    )

    @app.context_processor
    def translations():
        """The templates' gettext family for this render: Flask-Babel's (what it installs
        in the Jinja environment), with the translations looked up once per render instead
        of at every ``_()`` (some fifty a page, each lookup walking the request context
        three times). Templates resolve ``_`` and ``gettext`` from their context first;
        macros imported without context keep the environment's. Jinja's own newstyle
        wrappers (``jinja2.ext``; not public API, but what ``install_gettext_callables``
        uses) keep the output the same: Markup, ``%`` formatting, ``num``. Outside a
        request (a command rendering a template) the environment's, as before: choosing
        the locale reads the request."""
        if not has_request_context():
            return {}
        t = get_translations()
        return {
            "gettext": jinja_ext._make_new_gettext(t.ugettext),
            "ngettext": jinja_ext._make_new_ngettext(t.ungettext),
            "pgettext": jinja_ext._make_new_pgettext(t.upgettext),
            "npgettext": jinja_ext._make_new_npgettext(t.unpgettext),
        }

    @app.context_processor
    def open_acknowledgements():
        """The navbar's "Read & sign" badge (one count query, only when signed in)."""
        if not getattr(current_user, "is_authenticated", False):
            return {"open_acknowledgements": 0}
        return {"open_acknowledgements": open_task_count(db.session, current_user)}

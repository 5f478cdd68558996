"""The ``qdms`` command line: Flask's command group (``qdms db upgrade``, ``qdms run``) plus
the commands of docs/API.md. Each command is one unit of work: it commits at the end, and any
error rolls everything back and exits non-zero with a clear message.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import backup as backups
from app import create_app, storage
from app import demo as demo_data
from app.audit_trail import checkpoints
from app.audit_trail.services import verify_chain
from app.audits import reminders as audit_reminders
from app.audits import services as audit_services
from app.auth import services as auth
from app.auth.models import ApiToken
from app.capa import reminders as capa_reminders
from app.complaints import reminders as complaint_reminders
from app.distribution import reminders as distribution_reminders
from app.documents import reminders as document_reminders
from app.documents.services import verify_signed_content
from app.errors import N_, DomainError
from app.extensions import db, local_today, utcnow
from app.external import reminders as external_reminders
from app.kpis import reminders as kpi_reminders
from app.notifications import services as mail
from app.notifications.services import deliver_pending
from app.pdf import PdfCache
from app.people import services as people
from app.people.models import User, UserRole
from app.records.services import verify_records
from app.retention import services as retention
from app.reviews import reminders as review_reminders
from app.risks import reminders as risk_reminders
from app.search import registry, sync
from app.signatures.services import verify_signatures


@click.group(cls=FlaskGroup, create_app=create_app, add_version_option=False)
def main():
    """qdms: document control and ISO 9001 quality-system manager."""


def unit_of_work(fn):
    """Commit after the command; on a domain error roll back and exit 1 with its message."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
        except DomainError as err:
            db.session.rollback()
            raise click.ClickException(str(err)) from err
        db.session.commit()
        return result

    return wrapper


departments_cli = click.Group("departments", help="Departments.")
users_cli = click.Group("users", help="Users.")
tokens_cli = click.Group("tokens", help="API tokens.")
criteria_cli = click.Group("criteria", help="Audit criteria (the clause library).")


@criteria_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--standard", required=True, help="The standard the criteria belong to.")
@with_appcontext
@unit_of_work
def criteria_import(file, standard):
    """Import audit criteria from a .csv or .json file: all rows or none; a bad row exits 1
    naming its line."""
    out = audit_services.import_criteria(
        db.session, None, filename=file.name, data=file.read_bytes(), standard=standard
    )
    click.echo(f"{out['standard']}: {out['added']} added, {out['updated']} updated")


@departments_cli.command("create")
@click.argument("code")
@click.option("--name", required=True, help="Department name.")
@with_appcontext
@unit_of_work
def departments_create(code, name):
    dept = people.create_department(db.session, None, code, name)
    click.echo(f"created department {dept.code} {dept.name}")


@users_cli.command("create")
@click.argument("username")
@click.option("--name", "full_name", required=True, help="Full (printed) name.")
@click.option("--department", help="Department code.")
@click.option("--role", "roles", multiple=True, required=True, help="Role; repeat for several.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--email")
@click.option("--language", type=click.Choice(["zh_CN", "en"]))
@with_appcontext
@unit_of_work
def users_create(username, full_name, department, roles, password, email, language):
    dept = people.get_department(db.session, department) if department else None
    user = people.create_user(
        db.session,
        None,
        username=username,
        full_name=full_name,
        password=password,
        roles=roles,
        department=dept,
        email=email,
        language=language,
        password_min_length=current_app.config["QDMS_PASSWORD_MIN_LENGTH"],
    )
    click.echo(f"created user {user.username} ({', '.join(user.roles)})")


@tokens_cli.command("create")
@click.argument("username")
@click.option("--name", default="cli", help="A label to recognise the token by.")
@with_appcontext
@unit_of_work
def tokens_create(username, name):
    """Print a new API token as the last line."""
    user = people.get_user(db.session, username)
    days = current_app.config["QDMS_API_TOKEN_DAYS"]
    token = auth.create_token(db.session, None, user, name, days=days)
    click.echo(f"token for {user.username} (shown once, stored hashed):")
    click.echo(token)


@tokens_cli.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
@unit_of_work
def tokens_revoke(token_id):
    row = auth.revoke_token(db.session, None, token_id)
    click.echo(f"revoked token {row.id} ({row.prefix}…) of {row.user.username}")


@tokens_cli.command("list")
@click.argument("username", required=False)
@with_appcontext
def tokens_list(username):
    stmt = select(ApiToken).join(User).order_by(ApiToken.id)
    if username:
        stmt = stmt.where(User.username == username)
    now = utcnow()
    for t in db.session.scalars(stmt):
        state = "revoked" if t.revoked_at else "expired" if t.expires_at <= now else "active"
        expires = t.expires_at.date().isoformat()
        click.echo(f"{t.id}\t{t.user.username}\t{t.prefix}…\t{t.name}\t{state}\t{expires}")


@click.command("demo")
@click.option("--first-start", is_flag=True, help="Only seed when the database has no users.")
@with_appcontext
@unit_of_work
def demo(first_start):
    """Seed the demo organisation (idempotent)."""
    if first_start and db.session.scalar(select(User.id).limit(1)) is not None:
        click.echo("demo: the database already has users; nothing seeded")
        return
    added = demo_data.seed(db.session)
    click.echo(f"demo: added {len(added)} items" if added else "demo: nothing to add")


@click.command("demo-logins")
def demo_logins():
    """Print the demo users and their password."""
    click.echo("Demo logins (username / password / roles):")
    for username, password, roles in demo_data.logins():
        click.echo(f"  {username:<10} {password}   {roles}")


@click.command("verify")
@with_appcontext
def verify():
    """Check the audit trail's chain against its seals and the checkpoints in docs_store,
    every signature against its seal and event, every completed record against its
    SHA-256; exit 1 naming each thing that changed."""
    found, problems = checkpoints.read(_checkpoint_file())
    result = verify_chain(db.session, found)
    if result.ok:
        click.echo(
            f"audit trail intact: {result.checked} events"
            + (f", {len(found)} checkpoints match" if found else "")
        )
    else:
        problems.insert(
            0,
            f"audit trail BROKEN: {result.problem} ({result.checked} events verified before it)",
        )
    problems += verify_signatures(db.session)
    problems += verify_signed_content(db.session)
    problems += verify_records(db.session)
    db.session.rollback()  # read-only
    for line in problems:
        click.echo(line, err=True)
    if problems:
        sys.exit(1)
    click.echo("signatures and completed records intact")


def _checkpoint_file() -> Path:
    return checkpoints.path_in(current_app.config["QDMS_DOCS_STORE"])


@click.command("check")
@with_appcontext
def check():
    """Check every stored file against its hash and every cached PDF against its seal;
    exit 1 on any missing, corrupted or altered file."""
    store = storage.get_store(current_app)
    report = storage.check(db.session, store)
    for sha, problem in report.problems:
        click.echo(f"{problem}: {sha}", err=True)
    for sha in report.unreferenced:
        click.echo(f"unreferenced (not in the database, harmless): {sha}")
    cached, altered = PdfCache(store.root).check()
    for key in altered:
        click.echo(
            f"PDF cache entry {key} was altered: its seal does not match "
            "(it is rendered again when next asked for)",
            err=True,
        )
    if not report.ok:
        click.echo(f"{len(report.problems)} of {report.checked} files have problems", err=True)
    if altered:
        click.echo(f"{len(altered)} of {cached} cached PDFs were altered", err=True)
    if altered or not report.ok:
        sys.exit(1)
    click.echo(f"all {report.checked} stored files intact; {cached} cached PDFs intact")


@click.command("sweep")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Run as if it were this date (YYYY-MM-DD).",
)
@with_appcontext
def sweep(today):
    """Scheduled work: effective dates, overdue acknowledgements, reminders, retention due;
    then send mail."""
    day = today.date() if today else local_today()
    report = unit_of_work(scheduled_work)(db.session, day)
    for item in report.made_effective:
        click.echo(f"effective: {item}")
    for item in report.to_verifying:
        click.echo(f"effectiveness check due: {item}")
    for item in report.kpi_runs:
        click.echo(f"KPI below target for its run: {item}")
    click.echo(
        f"sweep {day.isoformat()}: {len(report.made_effective)} made effective, "
        f"{report.overdue_acknowledgements} acknowledgements overdue, "
        f"{report.reminders} reminders queued"
    )
    _retention_sweep(day)
    _write_checkpoint()
    sent, failed = deliver_pending(
        db.session, current_app.config["QDMS_SMTP_URL"], current_app.config["QDMS_MAIL_FROM"]
    )
    if current_app.config["QDMS_SMTP_URL"]:
        click.echo(f"mail: {sent} sent, {failed} failed")
    caught_up, left = _search_catch_up()
    if caught_up or left:
        click.echo(f"search index: {caught_up} updates applied, {left} still pending")
    if failed:
        sys.exit(1)


@dataclass
class SweepReport:
    """What the features' scheduled work did, for `qdms sweep` to print."""

    made_effective: list[str] = field(default_factory=list)
    reminders: int = 0
    overdue_acknowledgements: int = 0
    to_verifying: list[str] = field(default_factory=list)
    kpi_runs: list[str] = field(default_factory=list)  # KPIs below target for their run


def scheduled_work(session: Session, day: date) -> SweepReport:
    """Each feature's scheduled work, in one transaction, in the order they build on each
    other: documents (revisions whose effective date has come, which recalls the copies of
    the revisions they supersede; review reminders), the register of external documents
    (currency checks due), distribution (overdue acknowledgements, recall reminders), the
    risk register (periodic reviews coming up or due), nonconformities (checks that have
    come due, action and verifier reminders), internal audits (starting within a week,
    reports unsigned two weeks after the end), complaints (commitments breached: marked,
    mailed, escalated), KPIs (runs below target offered as NCs, periods to close),
    management reviews (actions due within a week or overdue)."""
    documents = document_reminders.sweep(session, day)
    report = SweepReport(documents.made_effective, documents.reminders)
    report.reminders += external_reminders.remind_currency_checks(session, day)
    report.overdue_acknowledgements, queued = distribution_reminders.sweep(session, day)
    report.reminders += queued
    report.reminders += risk_reminders.remind_reviews(session, day)
    capa = capa_reminders.sweep(session, day)
    report.to_verifying = capa.to_verifying
    report.reminders += capa.reminders
    report.reminders += audit_reminders.sweep(session, day)
    report.reminders += complaint_reminders.sweep(session, day)
    kpis = kpi_reminders.sweep(session, day)
    report.reminders += kpis.reminders
    report.kpi_runs = kpis.runs
    report.reminders += review_reminders.sweep(session, day)
    auth.forget_unknown_names(session, utcnow(), timedelta(days=1))
    return report


def _retention_sweep(day: date) -> None:
    """What retention has run out for (the retention page lists it), and any removal of
    destroyed files a crash interrupted."""
    report = retention.sweep(db.session, day)
    click.echo(
        f"retention: {report.total} due ({report.records_due} records, "
        f"{report.revisions_due} document revisions), {report.on_hold} on hold, "
        f"{report.proposed} proposed for destruction"
    )
    for code, count in sorted(report.by_type.items()):
        click.echo(f"  due {code}: {count}")
    removed = retention.finish_removals(db.session, storage.get_store(current_app))
    if removed:
        click.echo(f"retention: {removed} destroyed files removed from docs_store")
    db.session.rollback()  # read-only


def _write_checkpoint() -> None:
    """A sealed checkpoint of the chain head, after the sweep's own events: appended to
    docs_store and mailed to the quality officers (ADR 0038); once per head."""
    db.session.rollback()  # a fresh snapshot: what is committed
    cp = checkpoints.write(db.session, _checkpoint_file())
    officers = db.session.scalars(
        select(User).where(
            User.is_active.is_(True),
            User.id.in_(select(UserRole.user_id).where(UserRole.role == "officer")),
        )
    ).all()
    for officer in officers:
        mail.queue(
            db.session,
            officer,
            kind="audit_checkpoint",
            dedupe_key=f"audit_checkpoint:{officer.id}:{cp.seq}:{cp.hash[:16]}",
            subject=N_("Audit trail checkpoint: event %(seq)s"),
            body=N_(
                "The audit trail at %(written_at)s UTC ends with event %(seq)s, hash "
                "%(hash)s. Keep this message: it shows what the trail held then, should "
                "the database be rewritten."
            ),
            seq=cp.seq,
            hash=cp.hash,
            written_at=cp.written_at,
        )
    db.session.commit()
    click.echo(f"audit trail checkpoint: event #{cp.seq} ({cp.where})")


def _search_catch_up() -> tuple[int, int]:
    """Apply index updates left pending (a crash, a long lock); prune old done rows."""
    store = sync.store_for(current_app)
    sync.ensure_index(db.session, store, wait=None)  # an unusable index is rebuilt here
    applied = sync.retry_pending(db.engine, store)
    store.compile_postings()  # also the large segments of merges (app.search.postings)
    sync.prune(db.session)
    db.session.commit()
    return applied, sync.pending_count(db.session)


@click.command("reindex")
@click.option(
    "--procs",
    type=click.IntRange(1, 16),
    default=None,
    help="Indexing processes (default: the number of cores, at most 4; 1 below 5,000 items).",
)
@click.option(
    "--if-needed",
    is_flag=True,
    help="Only when there is no usable index (a new instance, another schema version).",
)
@with_appcontext
def reindex(procs, if_needed):
    """Rebuild the search index from the database (a new index, swapped in when complete)."""
    store = sync.store_for(current_app)
    if if_needed and store.usable():
        click.echo("search index: usable, not rebuilt")
        return
    total = sum(b.count(db.session) for b in registry.builders())
    if procs is None:
        procs = 1 if total < 5000 else max(1, min(4, os.cpu_count() or 1))
    started = time.perf_counter()
    with click.progressbar(length=total, label="Indexing", show_pos=True) as bar:
        indexed = sync.rebuild(db.session, store, progress=bar.update, procs=procs)
    click.echo(
        f"search index rebuilt: {indexed} items in {time.perf_counter() - started:.1f} s "
        f"({store.root / (store.current_name() or '')})"
    )


def _progressbar(label: str, total: int):
    """A click progress bar on stderr (stdout stays for the result lines)."""

    @contextlib.contextmanager
    def bar():
        with click.progressbar(length=total, label=label, show_pos=True, file=sys.stderr) as b:
            yield b.update

    return bar()


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup(file):
    """Write one consistent archive of the database and every stored file to FILE (a .tar;
    .tar.gz compresses it), while the app keeps serving."""
    try:
        result = backups.backup(
            db.engine, storage.get_store(current_app), file, progress=_progressbar
        )
    except backups.BackupError as err:
        raise click.ClickException(f"backup failed: {err}") from err
    m = result.manifest
    click.echo(
        f"backup written: {result.path} ({result.size / 1e6:.1f} MB; {len(m['files'])} files, "
        f"{len(m['tables'])} tables, {sum(m['tables'].values())} rows, "
        f"snapshot {m['created_at']})"
    )


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def restore(file):
    """Restore the archive FILE into this empty instance: verify every hash, the audit
    chain and the files, then rebuild the search index. Exit 1 naming the first mismatch."""
    try:
        result = backups.restore(
            db.engine,
            storage.get_store(current_app),
            sync.store_for(current_app),
            file,
            progress=_progressbar,
        )
    except backups.BackupError as err:
        raise click.ClickException(f"restore failed: {err}") from err
    m = result.manifest
    click.echo(
        f"restored {file} (snapshot {m['created_at']}, qdms {m['qdms_version']}): "
        f"{sum(m['tables'].values())} rows in {len(m['tables'])} tables match the manifest; "
        f"audit trail intact: {result.events} events; all {result.files} stored files "
        f"intact; search index rebuilt: {result.indexed} items"
    )


def register_commands(app) -> None:
    for command in (
        departments_cli,
        users_cli,
        tokens_cli,
        criteria_cli,
        demo,
        demo_logins,
        verify,
        check,
        sweep,
        reindex,
        backup,
        restore,
    ):
        app.cli.add_command(command)

"""Records (记录): the record plan and filing, completing and amending (docs/adr/0030, 0031).

Guarantees:

- Record numbers are ``{code}-{yyyy}-{seq:04}``, from one counter per type and year
  (:func:`app.sequences.next_value`): unique and consecutive under concurrent filing,
  never reused (a rolled-back filing takes its number with it).
- A type's form is versioned: changing it writes a new ``RecordSchema``; a record keeps
  the version it was filed with.
- A ``draft`` record may be changed by whoever may edit it; ``complete`` freezes its
  values and scan (any change raises ``InvalidTransition``): corrections are
  ``RecordAmendment`` rows with a reason, signed when they touch a signature field.
- Signature fields are signed by the acting user with their password
  (:func:`app.signatures.services.sign`), never typed.
- Every change writes an audit event about ``record:<number>`` (or
  ``record_type:<code>``) in the caller's transaction; services flush, never commit.
"""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from app.audit_trail import services as audit
from app.audit_trail.models import Event
from app.errors import N_, InvalidTransition, NotFound, ValidationFailed
from app.extensions import add_years, local_date, local_today, utcnow
from app.locking import lock
from app.people.models import Department, User
from app.records import fields as form_fields
from app.records.models import (
    CONFIDENTIALITY,
    MEDIA,
    RETENTION_FROM,
    STATUSES,
    Record,
    RecordAmendment,
    RecordSchema,
    RecordType,
)
from app.records.permissions import sees_all_records, visible_records
from app.sequences import NumberSequence, next_value
from app.signatures import services as signatures
from app.storage import FileStore, store_bytes
from app.uploads import SCAN_MIMETYPES, CheckedFile

MAX_RETENTION_YEARS = 100
MAX_REASON = 4000
COUNTER = "record:"  # number counters: record:{code}:{year} (app.sequences)


def canonical(values: dict) -> str:
    return json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


# -- the record plan -----------------------------------------------------------------


def get_type(session: Session, code: str) -> RecordType:
    rtype = session.scalar(
        select(RecordType).where(RecordType.code == (code or "").strip().upper())
    )
    if rtype is None:
        raise NotFound(N_("No record type %(code)s."), code=code)
    return rtype


def list_types(session: Session, *, active_only: bool = False) -> list[RecordType]:
    stmt = select(RecordType).order_by(RecordType.code)
    if active_only:
        stmt = stmt.where(RecordType.is_active.is_(True))
    return list(session.scalars(stmt))


def _retention(raw) -> tuple[int, str]:
    if not isinstance(raw, dict):
        raise ValidationFailed(
            N_("The retention needs years and a starting point."),
            fields={"retention": N_("invalid")},
        )
    years, start = raw.get("years"), raw.get("from", "created")
    try:
        years = int(years)
    except (TypeError, ValueError):
        years = -1
    if not 1 <= years <= MAX_RETENTION_YEARS or start not in RETENTION_FROM:
        raise ValidationFailed(
            N_("Keep records 1 to %(max)s years after they were created or completed."),
            fields={"retention": N_("invalid")},
            max=MAX_RETENTION_YEARS,
        )
    return years, start


def _plan_fields(session: Session, data: dict, *, creating: bool) -> dict:
    """The plan's columns from ``data`` (only those given when not ``creating``)."""
    out: dict = {}
    problems: dict[str, str] = {}
    if creating or "code" in data:
        code = str(data.get("code") or "").strip().upper()
        if not code or len(code) > 40 or not all(c.isalnum() or c in "-_." for c in code):
            problems["code"] = N_("required: letters, digits and - _ .")
        out["code"] = code
    if creating or "name" in data:
        name = str(data.get("name") or "").strip()
        if not name or len(name) > 200:
            problems["name"] = N_("required (at most 200 characters)")
        out["name"] = name
    if creating or "name_en" in data:
        name_en = str(data.get("name_en") or "").strip()
        if len(name_en) > 200:
            problems["name_en"] = N_("too long")
        out["name_en"] = name_en or None
    if creating or "department" in data:
        dept = session.scalar(
            select(Department).where(Department.code == str(data.get("department") or ""))
        )
        if dept is None:
            problems["department"] = N_("no such department")
        else:
            out["department_id"] = dept.id
    for key, choices, default in (
        ("medium", MEDIA, "electronic"),
        # records hold personal data (customers' names, phones): a type is its owning
        # department's unless "internal" is chosen
        ("confidentiality", CONFIDENTIALITY, "confidential"),
    ):
        if creating or key in data:
            value = data.get(key) or default
            if value not in choices:
                problems[key] = N_("invalid")
            out[key] = value
    if creating or "location" in data:
        location = str(data.get("location") or "").strip()
        if len(location) > 200:
            problems["location"] = N_("too long")
        out["location"] = location or None
    if problems:
        raise ValidationFailed(N_("Some fields are missing or invalid."), fields=problems)
    if creating or "retention" in data:
        out["retention_years"], out["retention_from"] = _retention(data.get("retention"))
    return out


def create_type(session: Session, actor: User, data: dict) -> RecordType:
    """Add a line to the record plan with its first form (``data["fields"]``)."""
    values = _plan_fields(session, data, creating=True)
    form = form_fields.check_form(data.get("fields"))
    if session.scalar(select(RecordType.id).where(RecordType.code == values["code"])):
        raise ValidationFailed(
            N_("A record type %(code)s already exists."),
            fields={"code": N_("taken")},
            code=values["code"],
        )
    rtype = RecordType(created_by_id=actor.id, **values)
    session.add(rtype)
    session.flush()
    session.add(
        RecordSchema(
            record_type_id=rtype.id, version=1, fields_json=canonical(form), created_by_id=actor.id
        )
    )
    session.flush()
    session.refresh(rtype)
    audit.record(
        session,
        actor,
        rtype.ref,
        "record_type_created",
        after={**rtype.audit_state(), "fields": form},
    )
    return rtype


def update_type(session: Session, actor: User, rtype: RecordType, data: dict) -> RecordType:
    """Change the plan's columns of a type (not its code) and, with ``data["fields"]``,
    its form: a changed form is a new version; records already filed keep theirs."""
    if "code" in data and str(data["code"]).strip().upper() != rtype.code:
        raise ValidationFailed(
            N_("A record type's code cannot change: records are numbered by it."),
            fields={"code": N_("fixed")},
        )
    data = {k: v for k, v in data.items() if k != "code"}
    values = _plan_fields(session, data, creating=False)
    form = form_fields.check_form(data["fields"]) if "fields" in data else None
    if "is_active" in data:
        values["is_active"] = bool(data["is_active"])
    before = rtype.audit_state()
    for key, value in values.items():
        setattr(rtype, key, value)
    session.flush()
    session.refresh(rtype)
    after = rtype.audit_state()
    if after != before:
        if after["retention"] != before["retention"]:
            after["records_rescheduled"] = _reschedule(session, rtype)
        audit.record(session, actor, rtype.ref, "record_type_changed", before=before, after=after)
    if form is not None and canonical(form) != rtype.schema.fields_json:
        version = rtype.schema.version + 1
        session.add(
            RecordSchema(
                record_type_id=rtype.id,
                version=version,
                fields_json=canonical(form),
                created_by_id=actor.id,
            )
        )
        session.flush()
        session.refresh(rtype)
        audit.record(
            session,
            actor,
            rtype.ref,
            "record_form_changed",
            after={"version": version, "fields": form},
        )
    return rtype


# -- records ---------------------------------------------------------------------------


def get_record(session: Session, number: str) -> Record:
    record = session.scalar(select(Record).where(Record.number == (number or "").strip().upper()))
    if record is None:
        raise NotFound(N_("No record %(number)s."), number=number)
    return record


def _people(session: Session) -> set[str]:
    return set(session.scalars(select(User.username).where(User.is_active.is_(True))))


def _title(rtype: RecordType, form: list[dict], values: dict, given: str | None) -> str:
    """A record's title: as given, else the type's name with its first text value."""
    title = (given or "").strip()
    if title:
        return title[:300]
    first = next(
        (values[f["name"]] for f in form if f["type"] == "text" and values.get(f["name"])), None
    )
    return f"{rtype.name} · {first}"[:300] if first else rtype.name


def _sign_fields(
    session: Session,
    actor: User,
    record_ref: str,
    form: list[dict],
    raw: dict,
    keep: dict,
    password,
) -> dict:
    """Sign the signature fields ``raw`` asks to sign (true) that are not signed yet."""
    wanted = [
        f for f in form if f["type"] == "signature" and raw.get(f["name"]) and f["name"] not in keep
    ]
    signed = dict(keep)
    for field in wanted:
        sig = signatures.sign(
            session,
            actor,
            password or "",
            meaning="record_signed",
            object_ref=record_ref,
            content=f"{record_ref}:{field['name']}",
        )
        signed[field["name"]] = {
            "signature_id": sig.id,
            "username": sig.username,
            "name": sig.printed_name,
            "signed_at": sig.signed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    return signed


def _attach(session: Session, store: FileStore, form: list[dict], files: dict, keep: dict) -> dict:
    """Store the files uploaded for file fields (already checked by content)."""
    out = dict(keep)
    names = {f["name"] for f in form if f["type"] == "file"}
    unknown = sorted(set(files) - names)
    if unknown:
        raise ValidationFailed(
            N_("Some fields are missing or invalid."),
            fields=dict.fromkeys(unknown, N_("not a file field of this form")),
        )
    for name, checked in files.items():
        blob = store_bytes(session, store, checked.data)
        out[name] = {"sha256": blob.sha256, "name": checked.file_name, "size": blob.size}
    return out


def _typed_keep(form: list[dict], values: dict) -> dict:
    return {
        f["name"]: values[f["name"]]
        for f in form
        if f["type"] in ("signature", "file") and f["name"] in values
    }


def file_record(
    session: Session,
    store: FileStore,
    actor: User,
    rtype: RecordType,
    values: dict | None,
    *,
    title: str | None = None,
    scan: CheckedFile | None = None,
    files: dict[str, CheckedFile] | None = None,
    password: str | None = None,
    complete: bool = False,
    today: date | None = None,
) -> Record:
    """File a record against ``rtype`` (its latest form): as values, as a scan, or both.
    ``complete`` completes it at once (every required field then needed). Numbered
    ``{code}-{yyyy}-{seq:04}`` in this transaction."""
    if not rtype.is_active:
        raise InvalidTransition(N_("Record type %(code)s is retired."), code=rtype.code)
    raw = values or {}
    if not raw and scan is None and not files:
        raise ValidationFailed(
            N_("Fill in the form or attach a scan."), fields={"values": N_("required")}
        )
    form = rtype.schema.fields
    # Completing at once: every problem, missing required fields included, in one answer
    # (signature and file fields count as given when asked to sign or uploaded).
    given = {f["name"]: True for f in form if f["type"] == "signature" and raw.get(f["name"])}
    given.update(dict.fromkeys(files or {}, True))
    checked = form_fields.check_values(
        form, raw, people=_people(session), complete=complete and scan is None, keep=given
    )
    today = today or local_today()
    year = today.year
    seq = next_value(session, f"{COUNTER}{rtype.code}:{year}")
    record = Record(
        number=f"{rtype.code}-{year}-{seq:04d}",
        record_type_id=rtype.id,
        schema_id=rtype.schema.id,
        year=year,
        seq=seq,
        status="draft",
        title="",
        department_id=rtype.department_id,
        created_by_id=actor.id,
    )
    keep = _attach(session, store, form, files or {}, {})
    keep = _sign_fields(session, actor, record.ref, form, raw, keep, password)
    checked.update(keep)
    record.values_json = canonical(checked)
    record.title = _title(rtype, form, checked, title)
    if scan is not None:
        _set_scan(session, store, record, scan)
    session.add(record)
    session.flush()
    audit.record(session, actor, record.ref, "record_filed", after=_audit_state(record))
    if complete:
        complete_record(session, actor, record)
    return record


def _set_scan(session: Session, store: FileStore, record: Record, scan: CheckedFile) -> None:
    blob = store_bytes(session, store, scan.data)
    record.scan_sha256 = blob.sha256
    record.scan_name = scan.file_name
    record.scan_mimetype = SCAN_MIMETYPES.get(scan.kind, "application/octet-stream")


def _audit_state(record: Record) -> dict:
    """What the audit trail keeps of a record: the fields filled and the hash of the
    values, never the values themselves, so destroying a record leaves nothing of its
    content in the (unalterable) trail."""
    values = record.values
    return {
        "number": record.number,
        "type": record.record_type.code if record.record_type else None,
        "status": record.status,
        "title": record.title,
        "fields": sorted(k for k, v in values.items() if v not in (None, "", [], {})),
        "values_sha256": signatures.content_hash(canonical(values)),
        "scan": record.scan_sha256,
    }


def must_be_complete(record: Record) -> None:
    if record.status != "complete":
        raise InvalidTransition(N_("Only a complete record is amended; a draft is simply changed."))


def must_be_draft(record: Record) -> None:
    if record.status != "draft":
        raise InvalidTransition(
            N_("Record %(number)s is %(status)s: correct it with an amendment."),
            number=record.number,
            status=STATUSES.get(record.status, record.status),
        )


def update_draft(
    session: Session,
    store: FileStore,
    actor: User,
    record: Record,
    values: dict | None,
    *,
    title: str | None = None,
    scan: CheckedFile | None = None,
    files: dict[str, CheckedFile] | None = None,
    password: str | None = None,
) -> Record:
    """Change a draft's values (all of them: what is left out is emptied; signatures and
    files already given stay), title or scan."""
    lock(session, record)
    must_be_draft(record)
    form = record.schema.fields
    raw = values or {}
    before = _audit_state(record)
    checked = form_fields.check_values(form, raw, people=_people(session), complete=False)
    keep = _attach(session, store, form, files or {}, _typed_keep(form, record.values))
    keep = _sign_fields(session, actor, record.ref, form, raw, keep, password)
    checked.update(keep)
    record.values_json = canonical(checked)
    if title is not None:
        record.title = _title(record.record_type, form, checked, title)
    if scan is not None:
        _set_scan(session, store, record, scan)
    session.flush()
    after = _audit_state(record)
    if after != before:
        audit.record(session, actor, record.ref, "record_changed", before=before, after=after)
    return record


def retain_until(rtype: RecordType, created: date, completed: date | None) -> date | None:
    """The day a record's retention runs out (None while it runs from a completion that
    has not happened)."""
    start = created if rtype.retention_from == "created" else completed
    return None if start is None else add_years(start, rtype.retention_years)


def _reschedule(session: Session, rtype: RecordType) -> int:
    """Apply a type's changed retention rule to its complete records (the plan's rule
    governs every record of the type, filed before the change or after)."""
    rows = session.execute(
        select(Record.id, Record.created_at, Record.completed_at, Record.retain_until).where(
            Record.record_type_id == rtype.id, Record.status == "complete"
        )
    ).all()
    changes = []
    for record_id, created, completed, until in rows:
        new = retain_until(rtype, local_date(created), local_date(completed) if completed else None)
        if new != until:
            changes.append({"id": record_id, "retain_until": new})
    if changes:
        session.execute(update(Record), changes)
    return len(changes)


def complete_record(session: Session, actor: User, record: Record) -> Record:
    """Make a draft complete: every required field filled (or a scan given, for a
    record kept as a scan); from now on it is immutable."""
    lock(session, record)
    must_be_draft(record)
    form = record.schema.fields
    values = record.values
    missing = form_fields.missing_required(form, values)
    if missing and record.scan_sha256 is None:
        raise ValidationFailed(N_("Some fields are missing or invalid."), fields=missing)
    now = utcnow()
    record.status = "complete"
    record.completed_at = now
    record.completed_by_id = actor.id
    record.content_sha256 = signatures.content_hash(
        canonical({"values": values, "scan": record.scan_sha256})
    )
    record.retain_until = retain_until(
        record.record_type, local_date(record.created_at), local_date(now)
    )
    session.flush()
    audit.record(
        session,
        actor,
        record.ref,
        "record_completed",
        after={"sha256": record.content_sha256, "retain_until": str(record.retain_until)},
    )
    return record


def amend(
    session: Session,
    actor: User,
    record: Record,
    values: dict | None,
    reason: str | None,
    *,
    password: str | None = None,
) -> RecordAmendment:
    """Correct a complete record: the new values of some fields and why. A signature
    field is corrected by signing it again (``true`` and the password)."""
    lock(session, record)
    must_be_complete(record)
    reason = (reason or "").strip()
    problems: dict[str, str] = {}
    if not reason:
        problems["reason"] = N_("required")
    elif len(reason) > MAX_REASON:
        problems["reason"] = N_("too long")
    raw = values if isinstance(values, dict) else None
    if not raw:
        problems["values"] = N_("required")
    if problems:
        raise ValidationFailed(N_("Some fields are missing or invalid."), fields=problems)
    form = record.schema.fields
    by_name = {f["name"]: f for f in form}
    unknown = sorted(set(raw) - set(by_name))
    if unknown:
        raise ValidationFailed(
            N_("Some fields are missing or invalid."),
            fields=dict.fromkeys(unknown, N_("not a field of this form")),
        )
    typed = {n: v for n, v in raw.items() if by_name[n]["type"] not in ("signature", "file")}
    subset = [by_name[n] for n in typed]
    checked = form_fields.check_values(subset, typed, people=_people(session), complete=True)
    for name in typed:
        checked.setdefault(name, None)  # emptied by the amendment (required ones refused)
    files = [n for n in raw if by_name[n]["type"] == "file"]
    if files:
        raise ValidationFailed(
            N_("Some fields are missing or invalid."),
            fields=dict.fromkeys(files, N_("a file is not amended; attach a new record")),
        )
    signature_fields = {n: v for n, v in raw.items() if by_name[n]["type"] == "signature"}
    unsigned = [n for n, v in signature_fields.items() if not v]
    if unsigned:
        raise ValidationFailed(
            N_("Some fields are missing or invalid."),
            fields=dict.fromkeys(unsigned, N_("a signature is corrected by signing again")),
        )
    sign = dict.fromkeys(signature_fields, True)
    current = record.current_values
    changed = {n: v for n, v in checked.items() if current.get(n) != v}
    if not changed and not sign:
        raise ValidationFailed(
            N_("The amendment changes nothing."), fields={"values": N_("unchanged")}
        )
    signature_id = None
    if sign:  # signatures.sign refuses a missing or wrong password
        signed = _sign_fields(session, actor, record.ref, form, sign, {}, password)
        changed.update(signed)
        signature_id = next(iter(signed.values()))["signature_id"]
    amendment = RecordAmendment(
        record_id=record.id,
        values_json=canonical(changed),
        reason=reason,
        user_id=actor.id,
        signature_id=signature_id,
    )
    session.add(amendment)
    session.flush()
    session.refresh(record)
    audit.record(
        session,
        actor,
        record.ref,
        "record_amended",
        before={"values_sha256": signatures.content_hash(canonical(current))},
        after={
            "fields": sorted(changed),
            "values_sha256": signatures.content_hash(canonical(record.current_values)),
            "amendment": amendment.id,
        },
    )
    return amendment


def list_stmt(
    *,
    type_code: str | None = None,
    year: int | None = None,
    status: str | None = None,
    q: str | None = None,
) -> Select:
    """Records, newest first (by the year of their number, then filing order), filtered by
    type, year, status and ``q`` (number or title).

    Ordered by (year, id) so that one of the two indexes (type, year, id) and (year, id)
    both filters and orders every list: a page is read backwards from its newest entry."""
    stmt = (
        select(Record)
        .order_by(Record.year.desc(), Record.id.desc())
        .options(
            selectinload(Record.record_type),
            selectinload(Record.schema),
            selectinload(Record.department),
            selectinload(Record.created_by),
            selectinload(Record.completed_by),
        )
    )
    if type_code:
        # by the type's id (a scalar subquery), so the (type, year, id) index both filters
        # and orders: a page is read backwards from the newest record of that type and year
        type_id = (
            select(RecordType.id)
            .where(RecordType.code == type_code.strip().upper())
            .scalar_subquery()
        )
        stmt = stmt.where(Record.record_type_id == type_id)
    if year:
        # A range, not ``==``: PostgreSQL drops a column compared to a constant from the
        # order, and then walks the primary key backwards over every later year instead
        # of reading the (year, id) index (SQLite reads the index either way).
        stmt = stmt.where(Record.year.between(year, year))
    if status:
        if status not in STATUSES:
            raise ValidationFailed(N_("Unknown status."), fields={"status": N_("invalid")})
        stmt = stmt.where(Record.status == status)
    q = (q or "").strip()
    if q:
        stmt = stmt.where(
            or_(
                Record.number.icontains(q, autoescape=True),
                Record.title.icontains(q, autoescape=True),
            )
        )
    return stmt


def visible_to(session: Session, stmt: Select, user, *, type_code: str | None = None) -> Select:
    """``stmt`` (records) narrowed to what ``user`` may open (permissions.can_view_record).
    Only confidential types narrow anything, so with none — or when ``stmt`` lists one
    internal type (``type_code``) — the statement stays as it is and the count stays an
    index-only scan."""
    if sees_all_records(user):
        return stmt
    confidential = dict(
        session.execute(
            select(RecordType.code, RecordType.id).where(
                RecordType.confidentiality == "confidential"
            )
        ).all()
    )
    if not confidential or (type_code and type_code.strip().upper() not in confidential):
        return stmt
    return stmt.where(visible_records(user, confidential.values()))


def years(session: Session) -> list[int]:
    """The years that have records, newest first, read from the number counters (one row
    per type and year: a record's number comes from one, and neither is ever deleted)
    rather than by a DISTINCT over the records on every page view."""
    keys = session.scalars(
        select(NumberSequence.key).where(NumberSequence.key.startswith(COUNTER, autoescape=True))
    )
    return sorted({int(key.rsplit(":", 1)[1]) for key in keys}, reverse=True)


def count_by_type(session: Session) -> dict[int, int]:
    return dict(
        session.execute(
            select(Record.record_type_id, func.count()).group_by(Record.record_type_id)
        ).all()
    )


# -- verification (qdms verify) --------------------------------------------------------


def verify_records(session: Session) -> list[str]:
    """Every completed record against what the trail recorded: its values and scan
    against its SHA-256, that SHA-256 against the one of its ``record_completed`` event,
    its values with the amendments against the newest ``record_amended`` event; a
    completed record may not be a draft again. One line per problem, naming the record."""
    completed: dict[str, dict] = {}
    amended: dict[str, dict] = {}
    stmt = (
        select(Event)
        .where(Event.action.in_(("record_completed", "record_amended")))
        .order_by(Event.seq)
    )
    for ev in session.scalars(stmt):
        target = completed if ev.action == "record_completed" else amended
        target[ev.object_ref] = json.loads(ev.after or "{}")
    problems = []
    stmt = (
        select(Record)
        .where(Record.status != "destroyed")
        .options(selectinload(Record.amendments))
        .order_by(Record.id)
    )
    for record in session.scalars(stmt):
        at_completion = completed.get(record.ref)
        if record.status != "complete":
            if at_completion is not None:
                problems.append(
                    f"record {record.number}: the trail records it completed, it is {record.status}"
                )
            continue
        kept = signatures.content_hash(
            canonical({"values": record.values, "scan": record.scan_sha256})
        )
        if kept != record.content_sha256:
            problems.append(
                f"record {record.number}: its values_json or scan do not match its SHA-256"
            )
        elif at_completion is None or at_completion.get("sha256") != record.content_sha256:
            problems.append(
                f"record {record.number}: its content_sha256 is not the one the trail "
                "recorded at completion"
            )
        last = amended.get(record.ref)
        if last is not None:
            now = signatures.content_hash(canonical(record.current_values))
            if now != last.get("values_sha256"):
                problems.append(
                    f"record {record.number}: its amended values do not match the SHA-256 "
                    "the trail recorded at the last amendment"
                )
    return problems

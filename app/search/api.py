"""``GET /api/v1/search``: the search, as the web page offers it."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user
from marshmallow import Schema, fields, validate

from app.api import Blueprint, fails
from app.api.schemas import Input
from app.errors import N_, ValidationFailed
from app.extensions import db
from app.search import query, services, sync

blp = Blueprint("search_api", __name__, tag="search")


class SearchItemSchema(Schema):
    kind = fields.String(
        metadata={"description": "document, external, record … (the kinds of the index)"}
    )
    id = fields.Integer(
        attribute="item_id",
        metadata={"description": "the item's id in its kind (a revision's id for documents)"},
    )
    number = fields.String(metadata={"example": "QP-CS-001"})
    title = fields.String()
    title_en = fields.String(allow_none=True)
    revision = fields.Function(lambda h: h.label if h.kind == "document" else None, allow_none=True)
    status = fields.String()
    type = fields.String()
    department = fields.String()
    year = fields.String()
    url = fields.String(metadata={"description": "the item's page in the web UI"})
    snippet = fields.String(metadata={"description": "HTML: escaped text, matches in <mark>"})
    score = fields.Float()


class SearchResultsSchema(Schema):
    q = fields.String(attribute="query")
    items = fields.List(fields.Nested(SearchItemSchema), attribute="hits")
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    facets = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.Integer()),
        metadata={"description": "kind, type, department, status, year: value → count"},
    )
    suggestion = fields.String(allow_none=True, metadata={"description": "did you mean"})
    fell_back = fields.Boolean(
        metadata={"description": "syntax not understood: plain words searched"}
    )


class SearchArgs(Input):
    q = fields.String(
        load_default="",
        metadata={
            "description": 'words, "a phrase", AND / OR / NOT, or a number such as '
            "QP-CS-001 (required)"
        },
    )
    kind = fields.String(
        metadata={"description": "document, external, record … (every kind the index holds)"}
    )
    type = fields.String(metadata={"description": "facet value"})
    department = fields.String(metadata={"description": "department code"})
    status = fields.String(metadata={"description": "facet value"})
    year = fields.String()
    include_history = fields.Boolean(
        load_default=False,
        metadata={
            "description": "superseded and obsolete revisions and withdrawn external "
            "documents too (officers and auditors); never drafts"
        },
    )
    sort = fields.String(load_default="relevance", validate=validate.OneOf(list(services.SORTS)))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(
        load_default=20, validate=validate.Range(min=1, max=services.MAX_PER_PAGE)
    )


@blp.get("/search")
@blp.arguments(SearchArgs, location="query")
@blp.response(200, SearchResultsSchema)
@fails(403)
def search(args):
    """Search the documents, external documents and records the caller may open."""
    if not args["q"].strip():
        raise ValidationFailed(N_("Type something to search for."), fields={"q": N_("required")})
    selected = {f: args[f] for f in query.FACETS if args.get(f)}
    return services.search(
        db.session,
        sync.store_for(current_app),
        current_user,
        args["q"],
        include_history=args["include_history"],
        selected=selected,
        page=args["page"],
        per_page=args["per_page"],
        sort=args["sort"],
        rebuild_wait=current_app.config["QDMS_SEARCH_REBUILD_WAIT"],
    )

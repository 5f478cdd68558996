"""``GET /api/v1/search`` (API.md, "Search and trail")."""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask_login import current_user
from marshmallow import Schema, fields

from app.api import bp, query_int
from app.api.inputs import flag
from app.errors import N_, ValidationFailed
from app.extensions import db
from app.search import query, services, sync


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


@bp.get("/search")
def search():
    """Search the documents, external documents and records the caller may open.
    ---
    get:
      tags: [search]
      parameters:
        - in: query
          name: q
          required: true
          schema: {type: string, maxLength: 500}
          description: 'words, "a phrase", AND / OR / NOT, or a number such as QP-CS-001'
        - in: query
          name: kind
          schema: {type: string}
          description: 'document, external, record … (every kind the index holds)'
        - {in: query, name: type, schema: {type: string}, description: facet value}
        - {in: query, name: department, schema: {type: string}, description: department code}
        - {in: query, name: status, schema: {type: string}, description: facet value}
        - {in: query, name: year, schema: {type: string}}
        - in: query
          name: include_history
          schema: {type: boolean}
          description: >-
            superseded and obsolete revisions and withdrawn external documents too
            (officers and auditors); never drafts
        - {in: query, name: sort, schema: {type: string, enum: [relevance, date]}}
        - {in: query, name: page, schema: {type: integer, minimum: 1}}
        - {in: query, name: per_page, schema: {type: integer, minimum: 1, maximum: 100}}
      responses:
        200:
          content:
            application/json:
              schema: SearchResultsSchema
        400:
          $ref: '#/components/responses/BadRequest'
        401:
          $ref: '#/components/responses/Unauthorized'
        403:
          $ref: '#/components/responses/Forbidden'
    """
    text = request.args.get("q", "")
    if not text.strip():
        raise ValidationFailed(N_("Type something to search for."), fields={"q": N_("required")})
    selected = {f: request.args[f] for f in query.FACETS if request.args.get(f)}
    results = services.search(
        db.session,
        sync.store_for(current_app),
        current_user,
        text,
        include_history=flag(request.args, "include_history"),
        selected=selected,
        page=query_int("page", 1),
        per_page=query_int("per_page", 20, maximum=services.MAX_PER_PAGE),
        sort=request.args.get("sort") or "relevance",
    )
    return jsonify(SearchResultsSchema().dump(results))

"""Imported once by the forkserver of the PDF worker processes (``app.pdf.worker``):
WeasyPrint, mammoth and the fonts made ready, so that every worker forked from it starts
warm. Importing it lays out one small page, which is why nothing else imports it."""

from app import docx_io  # noqa: F401 (mammoth and python-docx imported for the workers)
from app.pdf.render import render_plain

render_plain(
    "body.html",
    {"body": "<h1>受控文件 Controlled document</h1><table><tr><td>服务补救</td></tr></table>"},
)

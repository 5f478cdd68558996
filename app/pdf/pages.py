"""pypdf behind one door: page counts and sizes, and stamping an overlay onto pages."""

from __future__ import annotations

import io
from datetime import datetime

A4 = (595.28, 841.89)  # points


def _reader(data: bytes):
    from pypdf import PdfReader  # noqa: PLC0415 - 0.1 s to import: only PDFs need it

    return PdfReader(io.BytesIO(data), strict=False)


def count_pages(data: bytes) -> int:
    return len(_reader(data).pages)


def page_sizes(data: bytes) -> list[tuple[float, float]]:
    """Each page's visible size in points, as it displays (rotation applied)."""
    sizes = []
    for page in _reader(data).pages:
        box = page.cropbox
        width, height = float(box.width), float(box.height)
        if (page.rotation or 0) % 180:
            width, height = height, width
        sizes.append((round(width, 2), round(height, 2)))
    return sizes


def _pdf_date(moment: datetime) -> str:
    return moment.strftime("D:%Y%m%d%H%M%SZ")


def stamp(
    parts: list[tuple[bytes, slice]], overlay: tuple[bytes, slice], *, metadata: dict
) -> bytes:
    """Concatenate the chosen pages of ``parts`` and draw overlay page *i* over page *i*.

    Each part and the overlay is (PDF bytes, slice of its pages); the overlay has exactly
    one page per page of the result, each of the same size. ``metadata``: title, author,
    subject, created (a UTC datetime)."""
    from pypdf import PdfWriter  # noqa: PLC0415 - 0.1 s to import: only PDFs need it

    writer = PdfWriter()
    readers: dict[int, object] = {}

    def pages_of(data: bytes, which: slice):
        reader = readers.setdefault(id(data), _reader(data))
        return reader.pages[which]

    for data, which in parts:
        for page in pages_of(data, which):
            writer.add_page(page)
    marks = pages_of(*overlay)
    if len(marks) != len(writer.pages):
        raise ValueError(f"overlay has {len(marks)} pages for {len(writer.pages)}")
    for page, mark in zip(writer.pages, marks, strict=True):
        if page.rotation:
            page.transfer_rotation_to_content()  # so the overlay lands upright
        box = page.cropbox
        if (float(box.left), float(box.bottom)) != (0.0, 0.0):
            page.merge_translated_page(mark, float(box.left), float(box.bottom))
        else:
            page.merge_page(mark)
        page.compress_content_streams()
    writer.add_metadata(
        {
            "/Title": metadata.get("title", ""),
            "/Author": metadata.get("author", ""),
            "/Subject": metadata.get("subject", ""),
            "/Creator": "qdms",
            "/Producer": "qdms (WeasyPrint, pypdf)",
            "/CreationDate": _pdf_date(metadata["created"]),
            "/ModDate": _pdf_date(metadata["created"]),
        }
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()

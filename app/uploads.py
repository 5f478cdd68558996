"""Checking uploaded source files by content, not by name.

Accepts .docx (a well-formed Office Open XML word-processing package) and .pdf. Anything
else — a renamed .exe, a zip that is not a Word file, a corrupt or encrypted file, a zip
bomb, a path trick inside the archive, a file over the size limit — is refused with a
:class:`ValidationFailed` naming the ``file`` field. A .docx that inflates beyond
``max_uncompressed`` is a 413 (:class:`TooLarge`); one that cannot be read within the
time and memory of ``limits`` (read in a worker process: ``app.pdf.worker.read_docx``) a
400.
"""

from __future__ import annotations

import io
import logging
import unicodedata
import zipfile
from dataclasses import dataclass

from app.errors import N_, ValidationFailed
from app.pdf import worker

log = logging.getLogger(__name__)

MAX_ZIP_ENTRIES = 5000
MAX_UNCOMPRESSED = 50 * 1024 * 1024  # QDMS_DOCX_MAX_UNCOMPRESSED_MB's default
MAX_RATIO = 200  # compressed → uncompressed; Word files are far below this
DAMAGED_DOCX = N_("The Word file is damaged or not a Word document.")


class TooLarge(ValidationFailed):
    """A file whose content is over a limit: 413 (the body itself was within it)."""

    status = 413
    code = "too_large"


@dataclass(frozen=True)
class ReadLimits:
    """How a .docx is read: in a worker process within ``seconds`` and ``memory_mb``
    (``None``: in the calling process, as trusted files are: the demo's, generated ones)."""

    seconds: float
    memory_mb: int


@dataclass(frozen=True)
class CheckedFile:
    kind: str  # "docx" | "pdf"
    data: bytes
    file_name: str
    text: str
    page_count: int | None


def _refuse(message: str, **params) -> ValidationFailed:
    return ValidationFailed(message, fields={"file": N_("invalid")}, **params)


def clean_file_name(name: str | None, kind: str) -> str:
    """The base name only, no control characters, a sensible length and the right suffix."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{(stem or 'document')[:120]}.{kind}"


def check_upload(
    data: bytes,
    file_name: str | None,
    *,
    max_bytes: int,
    max_uncompressed: int = MAX_UNCOMPRESSED,
    limits: ReadLimits | None = None,
) -> CheckedFile:
    if not data:
        raise _refuse(N_("The file is empty."))
    if len(data) > max_bytes:
        raise ValidationFailed(
            N_("The file is larger than %(mb)s MB."),
            fields={"file": N_("too large")},
            mb=max_bytes // (1024 * 1024),
        )
    if data.startswith(b"%PDF-"):
        return _check_pdf(data, file_name)
    if data.startswith(b"PK\x03\x04"):
        return _check_docx(data, file_name, max_uncompressed, limits)
    raise _refuse(N_("Only Word (.docx) and PDF files are accepted."))


def _check_docx(
    data: bytes, file_name: str | None, max_uncompressed: int, limits: ReadLimits | None
) -> CheckedFile:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ZIP_ENTRIES:
                raise _refuse(DAMAGED_DOCX)
            total = 0
            for info in infos:
                name = info.filename
                if name.startswith(("/", "\\")) or ".." in name.split("/"):
                    raise _refuse(DAMAGED_DOCX)
                total += info.file_size
                if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
                    raise _refuse(DAMAGED_DOCX)
            if total > max_uncompressed:
                # zipfile reads no more than an entry declares (a lie fails its CRC)
                raise TooLarge(
                    N_("The Word file holds more than %(mb)s MB once unpacked."),
                    fields={"file": N_("too large")},
                    mb=max_uncompressed // (1024 * 1024),
                )
            names = {i.filename for i in infos}
            if "[Content_Types].xml" not in names or "word/document.xml" not in names:
                raise _refuse(N_("Only Word (.docx) and PDF files are accepted."))
            if zf.testzip() is not None:
                raise _refuse(DAMAGED_DOCX)
    except zipfile.BadZipFile as exc:
        raise _refuse(DAMAGED_DOCX) from exc
    try:
        if limits is None:
            reading = worker.read_docx(data, seconds=0, memory_mb=0, in_process=True)
        else:
            reading = worker.read_docx(data, seconds=limits.seconds, memory_mb=limits.memory_mb)
    except worker.ReadFailed as exc:
        log.info("refused a .docx that could not be read: %s", exc)
        if exc.reason == "damaged":
            raise _refuse(DAMAGED_DOCX) from exc
        raise _refuse(
            N_("The Word file is too complex to read within the limits of this server.")
        ) from exc
    return CheckedFile(
        "docx", data, clean_file_name(file_name, "docx"), reading.text, reading.page_count
    )


def _check_pdf(data: bytes, file_name: str | None) -> CheckedFile:
    from pypdf import PdfReader  # noqa: PLC0415 - 0.1 s to import: only PDFs need it
    from pypdf.errors import PyPdfError  # noqa: PLC0415 - (as above)

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise _refuse(N_("Encrypted PDF files are not accepted."))
        if _active_content(reader):
            raise _refuse(
                N_("PDF files with JavaScript or actions that launch programs are not accepted.")
            )
        pages = len(reader.pages)
        text = "\n".join((page.extract_text() or "") for page in reader.pages)
    except ValidationFailed:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.info("refused a PDF pypdf cannot read: %s", exc)
        raise _refuse(N_("The PDF file is damaged.")) from exc
    if pages == 0:
        raise _refuse(N_("The PDF file is damaged."))
    return CheckedFile("pdf", data, clean_file_name(file_name, "pdf"), text.strip(), pages)


# a PDF's active content: an action's type (/S) that runs something, or a JavaScript
# name tree or action script (/JS); a viewer that honours them runs them when the file
# is opened (and a browser shows our PDFs inline)
_ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/ImportData", "/SubmitForm", "/RichMediaExecute"}
_ACTIVE_KEYS = {"/JS", "/JavaScript"}
_MAX_PDF_OBJECTS = 200_000


def _active_content(reader) -> bool:
    """Does any object reachable from the PDF's trailer carry JavaScript or an action
    that launches, imports or submits? Walked without recursion, each object once,
    compressed object streams included (pypdf resolves them)."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject  # noqa: PLC0415

    stack, seen, visited = [reader.trailer], set(), 0
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            item = item.get_object()
        visited += 1
        if visited > _MAX_PDF_OBJECTS:
            raise _refuse(N_("The PDF file is damaged."))
        if isinstance(item, DictionaryObject):
            if _ACTIVE_KEYS & set(item.keys()) or item.get("/S") in _ACTIVE_ACTIONS:
                return True
            stack.extend(item.values())
        elif isinstance(item, ArrayObject):
            stack.extend(item)
    return False


SCAN_MIMETYPES = {"pdf": "application/pdf", "jpg": "image/jpeg", "png": "image/png"}
MAX_SCAN_PIXELS = 60_000_000  # an A3 page scanned at 600 dpi is 70 M: A4 at 600 dpi, 35 M


def check_scan(data: bytes, file_name: str | None, *, max_bytes: int) -> CheckedFile:
    """A scanned record or a file attached to a record field: PDF, JPEG or PNG, told by
    its content (a PDF must open; an image must carry its format's header and end)."""
    if not data:
        raise _refuse(N_("The file is empty."))
    if len(data) > max_bytes:
        raise ValidationFailed(
            N_("The file is larger than %(mb)s MB."),
            fields={"file": N_("too large")},
            mb=max_bytes // (1024 * 1024),
        )
    if data.startswith(b"%PDF-"):
        return _check_pdf(data, file_name)
    if data.startswith(b"\xff\xd8\xff"):
        return CheckedFile(
            "jpg", _reencoded(data, "JPEG"), clean_file_name(file_name, "jpg"), "", 1
        )
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return CheckedFile("png", _reencoded(data, "PNG"), clean_file_name(file_name, "png"), "", 1)
    raise _refuse(N_("Only PDF, JPEG and PNG files are accepted."))


def _reencoded(data: bytes, kind: str) -> bytes:
    """The picture decoded and encoded again by Pillow: what is stored is only an image —
    no bytes appended after it or hidden in it (a file that is also a zip or a page), no
    metadata (EXIF, comments, location); the orientation the camera saved is applied.
    A file Pillow cannot decode as ``kind``, or larger than ``MAX_SCAN_PIXELS``, is
    refused."""
    from PIL import Image, ImageOps, UnidentifiedImageError  # noqa: PLC0415 - scans only

    damaged = N_("The image is damaged or not a JPEG or PNG picture.")
    try:
        with Image.open(io.BytesIO(data), formats=[kind]) as image:
            width, height = image.size
            if width * height > MAX_SCAN_PIXELS:
                raise ValidationFailed(
                    N_("The picture has more than %(mp)s million pixels."),
                    fields={"file": N_("too large")},
                    mp=MAX_SCAN_PIXELS // 1_000_000,
                )
            image.load()
            picture = ImageOps.exif_transpose(image)
    except ValidationFailed:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombError,
    ) as exc:
        log.info("refused a picture Pillow cannot decode: %s", exc)
        raise _refuse(damaged) from exc
    out = io.BytesIO()
    if kind == "JPEG":
        if picture.mode not in ("L", "RGB", "CMYK"):
            picture = picture.convert("RGB")
        picture.save(out, "JPEG", quality=92, optimize=True)
    else:
        picture.save(out, "PNG", optimize=False)
    return out.getvalue()

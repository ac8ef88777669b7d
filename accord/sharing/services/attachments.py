"""Attachments: size-limited, type-checked by content, stored outside the web
root under a random name, and served only through the access policy."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accord.audit.services import record

from ..models import Attachment, Report, anonymous_date
from . import SharingError
from .reports import require_editable

MAX_ATTACHMENTS_PER_REPORT = 20

# extension -> (content type, check on the first bytes)
_TEXT = "text"
ALLOWED_TYPES: dict[str, tuple[str, Any]] = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    "zip": ("application/zip", (b"PK\x03\x04",)),
    "docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (b"PK\x03\x04",),
    ),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
    "pcap": (
        "application/vnd.tcpdump.pcap",
        (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"),
    ),
    "pcapng": ("application/x-pcapng", (b"\x0a\x0d\x0d\x0a",)),
    "txt": ("text/plain", _TEXT),
    "log": ("text/plain", _TEXT),
    "csv": ("text/csv", _TEXT),
    "json": ("application/json", _TEXT),
    "xml": ("application/xml", _TEXT),
    "eml": ("message/rfc822", _TEXT),
    "yar": ("text/plain", _TEXT),
    "rules": ("text/plain", _TEXT),
}


def storage_dir() -> Path:
    path = Path(settings.ATTACHMENT_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def stored_path(attachment: Attachment) -> Path:
    return storage_dir() / attachment.pk.hex


def clean_name(name: str) -> str:
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    base = re.sub(r"[^\w.\- ]+", "_", base)[:200].strip(". ")
    return base or "attachment"


def _check_type(name: str, head: bytes) -> str:
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in ALLOWED_TYPES:
        raise SharingError(
            _("Files of this type cannot be attached. Allowed: %(types)s.")
            % {"types": ", ".join(sorted(ALLOWED_TYPES))},
            {"file": _("File type not allowed.")},
        )
    content_type, check = ALLOWED_TYPES[extension]
    if check == _TEXT:
        if b"\x00" in head:
            raise SharingError(
                _("This does not look like a text file."), {"file": _("Not a text file.")}
            )
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the end of the sample is fine.
            if exc.start < len(head) - 4:
                raise SharingError(
                    _("Text files must be UTF-8."), {"file": _("Not UTF-8 text.")}
                ) from exc
    elif not any(head.startswith(magic) for magic in check):
        raise SharingError(
            _("The file's content does not match its .%(ext)s extension.") % {"ext": extension},
            {"file": _("Content does not match the extension.")},
        )
    return content_type


@transaction.atomic
def add_attachment(user: Any, report: Report, upload: Any, *, request: Any = None) -> Attachment:
    """``upload`` is a Django UploadedFile (or anything with name, size, chunks())."""
    organisation = require_editable(user, report)
    if report.is_withdrawn:
        raise SharingError(_("A withdrawn report cannot get attachments."))
    if report.attachments.count() >= MAX_ATTACHMENTS_PER_REPORT:
        raise SharingError(
            _("A report can have at most %(n)d attachments.") % {"n": MAX_ATTACHMENTS_PER_REPORT}
        )
    size = getattr(upload, "size", None) or 0
    if size <= 0:
        raise SharingError(_("The file is empty."), {"file": _("Empty file.")})
    if size > settings.ATTACHMENT_MAX_BYTES:
        raise SharingError(
            _("The file is too large (limit %(mb)d MB).")
            % {"mb": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)},
            {"file": _("Too large.")},
        )
    name = clean_name(upload.name)
    attachment = Attachment(id=uuid.uuid4(), report=report, name=name)
    path = stored_path(attachment)
    digest = hashlib.sha256()
    written = 0
    head = b""
    try:
        with open(path, "xb") as target:
            for chunk in upload.chunks():
                if len(head) < 4096:
                    head += chunk[: 4096 - len(head)]
                written += len(chunk)
                if written > settings.ATTACHMENT_MAX_BYTES:
                    raise SharingError(_("The file is too large."), {"file": _("Too large.")})
                digest.update(chunk)
                target.write(chunk)
        attachment.content_type = _check_type(name, head)
        attachment.size = written
        attachment.sha256 = digest.hexdigest()
        if report.is_anonymous:
            attachment.created_at = anonymous_date(timezone.now())
            stamp = attachment.created_at.timestamp()
            os.utime(path, (stamp, stamp))  # the file's own times must not date it either
        else:
            attachment.uploaded_by = user
        attachment.save()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if report.is_named:  # see create_report: no trail that points at a hidden reporter
        record(
            "attachment.added",
            _("Attached %(name)s to “%(title)s”") % {"name": name, "title": report.title},
            actor=user,
            organisation=organisation,
            target=attachment,
            data={"report": str(report.pk), "sha256": attachment.sha256, "size": written},
            request=request,
        )
    return attachment


@transaction.atomic
def remove_attachment(user: Any, attachment: Attachment, *, request: Any = None) -> None:
    report = attachment.report
    organisation = require_editable(user, report)
    path = stored_path(attachment)
    name = attachment.name
    attachment.delete()
    transaction.on_commit(lambda: path.unlink(missing_ok=True))
    if report.is_named:  # see create_report: no trail that points at a hidden reporter
        record(
            "attachment.removed",
            _("Removed %(name)s from “%(title)s”") % {"name": name, "title": report.title},
            actor=user,
            organisation=organisation,
            target=report,
            request=request,
        )

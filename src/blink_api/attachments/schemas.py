"""Attachment bodies."""

import uuid
from datetime import datetime

from blink_api.schema_types import Output


class AttachmentRead(Output):
    id: uuid.UUID
    ticket_id: uuid.UUID | None
    filename: str
    content_type: str
    size: int
    created_at: datetime
    created_by: uuid.UUID


class AttachmentList(Output):
    items: list[AttachmentRead]

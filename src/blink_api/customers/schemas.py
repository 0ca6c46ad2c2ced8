"""Customer bodies."""

import uuid
from datetime import datetime

from pydantic import Field

from blink_api.schema_types import Input, Name, Output


class CustomerCreate(Input):
    name: Name


class CustomerUpdate(Input):
    name: Name = Field(default=None)


class CustomerRead(Output):
    id: uuid.UUID
    name: str
    created_at: datetime
    updated_at: datetime

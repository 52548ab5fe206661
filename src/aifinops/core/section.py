"""The base of every ``aifinops.yaml`` section model: unknown keys are errors."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Section"]


class Section(BaseModel):
    """A config section: unknown keys are refused with an error naming them."""

    model_config = ConfigDict(extra="forbid")

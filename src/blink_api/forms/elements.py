"""Form elements: their definitions, the template rules, visibility and the checking of answers."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, model_validator

from blink_api.kit.errors import FieldError, Invalid
from blink_api.kit.schema import DATE_RANGE, Id, parse_day, trimmed

Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
Label = trimmed(min_length=1, max_length=300)
Help = Annotated[str, StringConstraints(max_length=2000)]
Option = trimmed(min_length=1, max_length=200)
Op = Literal["eq", "ne", "lt", "lte", "gt", "gte", "in"]


# Strict like every request body (elements arrive in template bodies): `true`, not `1`.
_STRICT = ConfigDict(extra="forbid", strict=True)


class Condition(BaseModel):
    """Shows an element only when an earlier element's answer meets this comparison."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"element": "fenster_sauber", "op": "eq", "value": False}]},
    )

    element: Key = Field(description="Key of an earlier element.")
    op: Op = Field(
        description="How the answer is compared with `value`: `eq`: equal; `ne`: not equal; `lt`, `lte`, "
        "`gt`, `gte`: less than, at most, greater than, at least (number, rating and date elements "
        "only); `in`: one of the list `value` (for a multi choice: any chosen option in it). An element "
        "not answered never meets the condition."
    )
    value: Any = Field(description="Compared with that element's answer; a list for `in`.")

    @model_validator(mode="after")
    def _in_takes_a_list(self) -> Condition:
        if self.op == "in" and not isinstance(self.value, list):
            raise ValueError("`in` needs a list as value")
        return self


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    """Strict like every request body, with these examples in the element's schema."""
    return ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": list(examples)})


class _Element(BaseModel):
    model_config = _STRICT

    key: Key = Field(
        description="Names the element's answer in `answers` and in conditions: lower-case letters, digits "
        "and `_`, starting with a letter, unique within the template."
    )
    label: Label = Field(description="The question or heading as the person filling in reads it.")
    help: Help | None = Field(default=None, description="A hint shown with the element.")
    required: bool = Field(
        default=False, description="An answer is needed to complete the submission (while it is shown)."
    )
    visible_if: Condition | None = Field(
        default=None, description="Shown only when this condition holds; always shown without one."
    )


class Heading(_Element):
    """A heading that structures the form; it takes no answer."""

    model_config = _examples({"type": "heading", "key": "aussenbereich", "label": "Außenbereich"})

    type: Literal["heading"] = Field(description="`heading`: a heading, no answer.")


class Text(_Element):
    """A one-line text answer."""

    model_config = _examples(
        {"type": "text", "key": "raumnummer", "label": "Raumnummer", "required": True, "max_length": 20}
    )

    type: Literal["text"] = Field(description="`text`: one line of text.")
    max_length: int = Field(default=2000, ge=1, le=2000, description="Most characters of the answer.")


class Textarea(_Element):
    """A text answer of several lines."""

    model_config = _examples(
        {"type": "textarea", "key": "bemerkungen", "label": "Bemerkungen", "help": "Was ist aufgefallen?"}
    )

    type: Literal["textarea"] = Field(description="`textarea`: text of several lines.")
    max_length: int = Field(default=20_000, ge=1, le=20_000, description="Most characters of the answer.")


class Number(_Element):
    """A number answer, optionally within bounds."""

    model_config = _examples(
        {
            "type": "number",
            "key": "anzahl_leuchtmittel",
            "label": "Defekte Leuchtmittel",
            "min": 0,
            "max": 500,
        }
    )

    type: Literal["number"] = Field(description="`number`: a number.")
    min: float | None = Field(default=None, description="Smallest answer accepted; no bound when left out.")
    max: float | None = Field(
        default=None, description="Largest answer accepted (not below `min`); no bound when left out."
    )

    @model_validator(mode="after")
    def _range(self) -> Number:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is larger than max")
        return self


class Rating(_Element):
    """A rating as the answer: a whole number from 1 to 5."""

    model_config = _examples({"type": "rating", "key": "sauberkeit", "label": "Sauberkeit Sanitärräume"})

    type: Literal["rating"] = Field(description="`rating`: a whole number from 1 to 5.")


class YesNo(_Element):
    """A yes-or-no answer (`true` or `false`)."""

    model_config = _examples(
        {"type": "yes_no", "key": "fenster_sauber", "label": "Fenster sauber?", "required": True}
    )

    type: Literal["yes_no"] = Field(description="`yes_no`: `true` or `false`.")


class Choice(_Element):
    """One of a list of options as the answer."""

    model_config = _examples(
        {
            "type": "choice",
            "key": "zustand",
            "label": "Zustand Eingangsbereich",
            "options": ["gut", "mittel", "schlecht"],
        }
    )

    type: Literal["choice"] = Field(description="`choice`: exactly one of `options`.")
    options: list[Option] = Field(
        min_length=1, max_length=100, description="The options offered, each once, in the order shown."
    )

    @model_validator(mode="after")
    def _unique(self) -> Choice:
        if len(set(self.options)) != len(self.options):
            raise ValueError("options must be unique")
        return self


class MultiChoice(Choice):
    """Any number of a list of options as the answer (a list of distinct options)."""

    model_config = _examples(
        {
            "type": "multi_choice",
            "key": "maengel",
            "label": "Festgestellte Mängel",
            "options": ["Graffiti", "Müll", "Beleuchtung defekt"],
        }
    )

    type: Literal["multi_choice"] = Field(  # type: ignore[assignment]
        description="`multi_choice`: a list of distinct `options`."
    )


class Date(_Element):
    """A calendar date (YYYY-MM-DD) as the answer."""

    model_config = _examples({"type": "date", "key": "letzte_wartung", "label": "Letzte Wartung"})

    type: Literal["date"] = Field(description="`date`: a date, YYYY-MM-DD.")


class Photo(_Element):
    """A photo as the answer: the id of an image uploaded with `POST /uploads`."""

    model_config = _examples({"type": "photo", "key": "foto_schaden", "label": "Foto des Schadens"})

    type: Literal["photo"] = Field(description="`photo`: the id of a file uploaded with `POST /uploads`.")


class Signature(_Element):
    """A signature as the answer: the id of an image uploaded with `POST /uploads`."""

    model_config = _examples(
        {"type": "signature", "key": "unterschrift_kunde", "label": "Unterschrift Kunde", "required": True}
    )

    type: Literal["signature"] = Field(
        description="`signature`: the id of a signature image uploaded with `POST /uploads`."
    )


# The seed's "Ticket anlegen": (1) label, (2) help, (3) type fixed for the person filling in, (4) title
# and (5) description presets, (6) whether they are editable, (7) due date, (8) PDF.
class TicketElement(_Element):
    """Raises a ticket of a fixed type on the submission's site when the submission is completed and
    the element is shown and answered. Its answer is `null` (no ticket) or an object with `title`,
    `description` and `due_date`, each only where the template lets the person filling in set it.
    Not allowed in public forms."""

    model_config = _examples(
        {
            "type": "ticket",
            "key": "ticket_fenster",
            "label": "Reinigung beauftragen",
            "visible_if": {"element": "fenster_sauber", "op": "eq", "value": False},
            "ticket_type_id": "b54e2f17-9a3c-4d81-b6e0-2f7c8d1a9e35",
            "title": "Fenster reinigen",
            "description": "Bei der Begehung als verschmutzt gemeldet.",
            "title_editable": False,
            "description_editable": True,
            "due_date_enabled": True,
            "attach_pdf": True,
        }
    )

    type: Literal["ticket"] = Field(description="`ticket`: raises a ticket on completion.")
    ticket_type_id: Id = Field(
        description="The type of the ticket raised: one the template manager sees, not an absence type."
    )
    title: Label = Field(description="The ticket's title, unless the person filling in may change it.")
    description: Annotated[str, StringConstraints(max_length=20_000)] | None = Field(
        default=None, description="The ticket's description preset."
    )
    title_editable: bool = Field(default=False, description="The person filling in may change the title.")
    description_editable: bool = Field(
        default=False, description="The person filling in may change the description."
    )
    due_date_enabled: bool = Field(default=False, description="The person filling in may set a due date.")
    attach_pdf: bool = Field(default=True, description="The filled form is attached to the ticket as PDF.")


Element = Annotated[
    Heading
    | Text
    | Textarea
    | Number
    | Rating
    | YesNo
    | Choice
    | MultiChoice
    | Date
    | Photo
    | Signature
    | TicketElement,
    Field(discriminator="type"),
]

_element_list = TypeAdapter(list[Element])


def parse_elements(raw: list[dict[str, Any]]) -> list[Any]:
    """A version's elements as stored (JSON) read back as models."""
    return _element_list.validate_python(raw)


def dump_elements(elements: list[Any]) -> list[dict[str, Any]]:
    """Elements as a version stores them (JSON, unset options left out)."""
    return [e.model_dump(mode="json", exclude_none=True) for e in elements]


def picture_answers(elements: list[Any], answers: dict[str, Any]) -> dict[str, str]:
    """The uploads that photo and signature answers name (upload id -> element key)."""
    return {answers[e.key]: e.key for e in elements if e.type in ("photo", "signature") and e.key in answers}


NO_ANSWER = {"heading"}
ORDERED = {"number", "rating", "date"}


def check_template(
    elements: list[Any],
    *,
    is_public: bool,
    subject: str = "site",
    loc: tuple[str, ...] = ("body", "elements"),
) -> None:
    """Keys unique, conditions pointing to earlier answerable elements, no ticket in a public form nor
    in one filled in about no site (a ticket is raised on the submission's site)."""
    errors: list[FieldError] = []
    seen: dict[str, Any] = {}
    for index, element in enumerate(elements):
        here = [*loc, index]
        if element.key in seen:
            errors.append(
                FieldError(
                    loc=[*here, "key"], msg=f"The key '{element.key}' is used twice.", type="duplicate"
                )
            )
        condition = element.visible_if
        if condition is not None:
            target = seen.get(condition.element)
            if target is None:
                errors.append(
                    FieldError(
                        loc=[*here, "visible_if", "element"],
                        type="unknown_element",
                        msg=f"'{condition.element}' is no earlier element: a condition looks upwards.",
                    )
                )
            elif target.type in NO_ANSWER or target.type == "ticket":
                errors.append(
                    FieldError(
                        loc=[*here, "visible_if", "element"],
                        type="no_answer",
                        msg=f"'{condition.element}' has no answer to compare with.",
                    )
                )
            elif condition.op in ("lt", "lte", "gt", "gte") and target.type not in ORDERED:
                errors.append(
                    FieldError(
                        loc=[*here, "visible_if", "op"],
                        type="not_ordered",
                        msg=f"'{condition.op}' needs a number, rating or date element.",
                    )
                )
            elif (why := _why_never_met(target, condition.op, condition.value)) is not None:
                errors.append(
                    FieldError(
                        loc=[*here, "visible_if", "value"],
                        type="not_an_answer",
                        msg=f"'{condition.element}' is never answered like this: {why}",
                    )
                )
        if is_public and element.type == "ticket":
            errors.append(
                FieldError(
                    loc=[*here],
                    type="ticket_in_public_form",
                    msg=f"Element '{element.key}': tickets can only be used in non-public forms.",
                )
            )
        elif subject == "none" and element.type == "ticket":
            errors.append(
                FieldError(
                    loc=[*here],
                    type="ticket_without_site",
                    msg=f"Element '{element.key}': tickets need a site; this form is filled in about none.",
                )
            )
        seen.setdefault(element.key, element)
    if errors:
        raise Invalid(errors[0].msg, errors=errors)


def _why_never_met(target: Any, op: str, value: Any) -> str | None:
    """Why a condition comparing `target`'s answer with `value` could never hold (a text where the
    answer is a number, an option the element does not offer); None when it can."""
    items = value if op == "in" else [value]
    for item in items:
        if target.type == "number":
            why = None if _is_number(item) else "Expected a number."
        elif target.type == "multi_choice" and op == "in":
            why = None if item in target.options else "Expected one of the options."
        else:
            why = _check_one(target, item)[1]
        if why is not None:
            return why
    return None


def _compare(op: str, answer: Any, value: Any) -> bool:
    if answer is None:
        return False
    try:
        if op == "eq":
            return bool(answer == value)
        if op == "ne":
            return bool(answer != value)
        if op == "in":
            if isinstance(answer, list):
                return any(a in value for a in answer)
            return answer in value
        left, right = answer, value
        if isinstance(left, str) and isinstance(right, str):  # dates compare as ISO strings
            left, right = dt.date.fromisoformat(left), dt.date.fromisoformat(right)
        return bool({"lt": left < right, "lte": left <= right, "gt": left > right, "gte": left >= right}[op])
    except (TypeError, ValueError):
        return False


def visible_keys(elements: list[Any], answers: dict[str, Any]) -> set[str]:
    """Elements shown for these answers; an element whose condition's element is hidden is hidden too."""
    shown: set[str] = set()
    for element in elements:
        condition = element.visible_if
        if condition is None or (
            condition.element in shown
            and _compare(condition.op, answers.get(condition.element), condition.value)
        ):
            shown.add(element.key)
    return shown


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_one(element: Any, value: Any) -> tuple[Any, str | None]:
    """The answer as stored, or the reason it is refused."""
    kind = element.type
    if kind in ("text", "textarea"):
        if not isinstance(value, str):
            return None, "Expected text."
        if len(value) > element.max_length:
            return None, f"At most {element.max_length} characters."
        return value, None
    if kind == "number":
        if not _is_number(value):
            return None, "Expected a number."
        if element.min is not None and value < element.min:
            return None, f"At least {element.min:g}."
        if element.max is not None and value > element.max:
            return None, f"At most {element.max:g}."
        return value, None
    if kind == "rating":
        if not (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5):
            return None, "Expected a whole number from 1 to 5."
        return value, None
    if kind == "yes_no":
        return (value, None) if isinstance(value, bool) else (None, "Expected true or false.")
    if kind == "choice":
        return (value, None) if value in element.options else (None, "Expected one of the options.")
    if kind == "multi_choice":
        if (
            not isinstance(value, list)
            or any(v not in element.options for v in value)
            or len(set(value)) != len(value)
        ):
            return None, "Expected a list of distinct options."
        return value, None
    if kind == "date":
        try:
            return parse_day(value).isoformat(), None
        except ValueError:
            return None, f"Expected a date (YYYY-MM-DD), {DATE_RANGE}."
    if kind in ("photo", "signature"):
        try:
            return str(uuid.UUID(str(value))), None
        except ValueError:
            return None, "Expected the id of a file uploaded with POST /uploads."
    if kind == "ticket":
        return _check_ticket(element, value)
    return None, "This element takes no answer."


def _check_ticket(element: TicketElement, value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, dict):
        return None, "Expected null (no ticket) or an object {title?, description?, due_date?}."
    allowed = {
        "title": element.title_editable,
        "description": element.description_editable,
        "due_date": element.due_date_enabled,
    }
    for field in value:
        if field not in allowed:
            return None, f"Unknown field '{field}'."
        if not allowed[field]:
            return None, f"The template does not let you set '{field}'."
    answer: dict[str, Any] = {}
    if "title" in value:
        if not isinstance(value["title"], str) or not value["title"].strip() or len(value["title"]) > 300:
            return None, "The title must be 1 to 300 characters."
        answer["title"] = value["title"].strip()
    if "description" in value:
        if value["description"] is not None and (
            not isinstance(value["description"], str) or len(value["description"]) > 20_000
        ):
            return None, "The description must be text."
        answer["description"] = value["description"]
    if "due_date" in value and value["due_date"] is not None:
        try:
            answer["due_date"] = parse_day(value["due_date"]).isoformat()
        except ValueError:
            return None, f"Expected a due date (YYYY-MM-DD), {DATE_RANGE}."
    return answer, None


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def check_answers(elements: list[Any], answers: dict[str, Any], *, complete: bool) -> dict[str, Any]:
    """Answers of the visible elements, checked: hidden ones dropped, required ones enforced on completion."""
    errors: list[FieldError] = []
    by_key = {e.key: e for e in elements}
    for key in answers:
        if key not in by_key:
            errors.append(
                FieldError(
                    loc=["body", "answers", key], msg="No element has this key.", type="unknown_element"
                )
            )
    shown = visible_keys(elements, answers)
    cleaned: dict[str, Any] = {}
    for element in elements:
        if element.key not in shown or element.type in NO_ANSWER:
            continue
        value = answers.get(element.key)
        if _empty(value):
            if complete and element.required:
                errors.append(
                    FieldError(
                        loc=["body", "answers", element.key], msg="This element is required.", type="missing"
                    )
                )
            continue
        stored, problem = _check_one(element, value)
        if problem:
            errors.append(
                FieldError(loc=["body", "answers", element.key], msg=problem, type="invalid_answer")
            )
        else:
            cleaned[element.key] = stored
    if errors:
        raise Invalid(errors[0].msg, errors=errors)
    return cleaned

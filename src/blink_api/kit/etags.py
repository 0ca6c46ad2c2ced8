"""Conditional requests on entity tags (RFC 9110 §13.1.1 `If-Match`, §13.1.2 `If-None-Match`).

Both fields are a list of entity tags (`[W/]"opaque"`, §8.8.3) or `*`. A field may come as several
header lines, which together are one list: callers pass them joined with `, `. A field that is not
such a list names no tag.
"""

from __future__ import annotations

import re

# One entity tag of a list, with what may follow it: the list's separator or its end. Empty list
# elements (`"1", , "2"`) are allowed by the list syntax.
_ENTITY_TAG = re.compile(r'[ \t]*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*(?:,|\Z)')
_EMPTY_ELEMENT = re.compile(r"[ \t]*,")


def entity_tags(field: str) -> list[tuple[bool, str]] | None:
    """The tags of a list field as (weak, opaque) pairs, in order; None when the field is not a list
    of entity tags (a bare `3`, `"3` unclosed, `*` within a list). Linear in the field's length."""
    tags: list[tuple[bool, str]] = []
    position = 0
    while position < len(field):
        if empty := _EMPTY_ELEMENT.match(field, position):
            position = empty.end()
        elif tag := _ENTITY_TAG.match(field, position):
            tags.append((tag.group(1) is not None, tag.group(2)))
            position = tag.end()
        elif field[position:].strip(" \t") == "":
            break
        else:
            return None
    return tags


def _opaque(etag: str) -> str:
    return etag.removeprefix("W/").strip('"')


def none_match(field: str, etag: str) -> bool:
    """Whether `If-None-Match: field` names the current `etag`, so that a GET answers 304.

    `*` names any current version. Tags are compared weakly, as the RFC says for this header: `W/"3"`
    names `"3"`. A field that is not a list of tags names nothing: the full answer is sent, the safe
    side for a client whose validator we cannot read.
    """
    if field.strip(" \t") == "*":
        return True
    tags = entity_tags(field)
    return tags is not None and any(opaque == _opaque(etag) for _, opaque in tags)


def if_match(field: str, etag: str) -> bool:
    """Whether `If-Match: field` lets a change of the resource whose current tag is `etag` go ahead.

    `*` matches any current version; otherwise one of the listed tags must match strongly: a weak tag
    (`W/"3"`) never does. A field that is not a list of tags matches nothing: the change is refused
    (412), the safe side for a client whose validator we cannot read.
    """
    if field.strip(" \t") == "*":
        return True
    tags = entity_tags(field)
    return tags is not None and any(not weak and opaque == _opaque(etag) for weak, opaque in tags)

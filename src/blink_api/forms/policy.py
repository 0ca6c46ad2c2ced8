"""What a caller may see and do in forms: each `why_not_*` rule answers None or the reason it refuses,
each `sees_*` rule whether a caller sees something at all."""

from __future__ import annotations

from blink_api.forms.models import FormSubmission, FormTemplate, FormTemplateVersion
from blink_api.identity.principals import CHECK_TEMPLATES_MANAGE, EmployeePrincipal, Principal


def sees_template_drafts(principal: Principal) -> bool:
    """Template managers read a template as its latest version, a draft included; everyone else reads
    its published version and does not see a template that has none."""
    return isinstance(principal, EmployeePrincipal) and CHECK_TEMPLATES_MANAGE in principal.permissions


def sees_public_submissions(principal: Principal) -> bool:
    """Submissions made through a public link belong to no site, so no tenant's employees see them
    by their sites: administrators and template managers do."""
    return isinstance(principal, EmployeePrincipal) and (
        principal.is_admin or CHECK_TEMPLATES_MANAGE in principal.permissions
    )


def sees_siteless_submissions(principal: Principal) -> bool:
    """Submissions of templates about no site (`subject` `none`: training records, personnel
    questionnaires) concern people, not sites: besides their author, template managers see them (not
    administrators as such)."""
    return isinstance(principal, EmployeePrincipal) and CHECK_TEMPLATES_MANAGE in principal.permissions


def why_not_change_subject(template: FormTemplate, subject: str) -> str | None:
    """Submissions are filled in about what the template said when it was published: once it has
    been, what it is filled in about stays (409)."""
    if subject != template.subject and template.published_version is not None:
        return "The template is published: what it is filled in about (`subject`) can no longer change."
    return None


def why_not_publish(version: FormTemplateVersion) -> str | None:
    """A published version never changes, so it is published once (409)."""
    if version.published_at is not None:
        return f"Version {version.version} is published already; change the template to make a new one."
    return None


def why_not_change_submission(principal: Principal, submission: FormSubmission) -> str | None:
    if submission.created_by_id != principal.id:
        return "Only the person filling in the form can change it."
    return None


def why_not_complete_submission(principal: Principal, submission: FormSubmission) -> str | None:
    if submission.created_by_id != principal.id:
        return "Only the person filling in the form can complete it."
    return None


def why_not_change_after_completion(submission: FormSubmission) -> str | None:
    """A completed submission, its photos and signatures included, no longer changes (409)."""
    if submission.status != "draft":
        return "The submission is completed and can no longer change."
    return None

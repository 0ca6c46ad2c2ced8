"""Prepares a running demo server for the schemathesis stage of CI and prints what the runs need.

Logs in the three demo roles and creates the data the fuzzer cannot make by itself, or must not touch:
a published public form, an attachment to download, a form submission to render, and throwaway
employees and permission groups for the operations that would otherwise change the administrator
the run is logged in as. Prints `NAME=value` lines for the shell to export.
"""

from __future__ import annotations

import secrets
import sys

import httpx

DEMO_PASSWORD = "blink-demo-2026"  # printed by the server for its demo logins (bootstrap.py)
ROLES = {
    "ADMIN": "admin@demo.blink.test",
    "EMPLOYEE": "mia.mitarbeiter@demo.blink.test",
    "CUSTOMER": "kunde@hansa.demo.blink.test",
}


def main(base_url: str) -> None:
    api = httpx.Client(base_url=f"{base_url}/api/v1", timeout=30)
    out: dict[str, str] = {}

    def login(email: str) -> dict[str, str]:
        r = api.post("/auth/token", data={"username": email, "password": DEMO_PASSWORD})
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    headers = {role: login(email) for role, email in ROLES.items()}
    for role, h in headers.items():
        out[f"FUZZ_{role}_TOKEN"] = h["Authorization"].removeprefix("Bearer ")
    admin, employee = headers["ADMIN"], headers["EMPLOYEE"]

    def post(path: str, h: dict[str, str], **kwargs: object) -> dict:
        r = api.post(path, headers=h, **kwargs)  # type: ignore[arg-type]
        if r.status_code >= 300:
            raise SystemExit(f"fuzz setup: POST {path} answered {r.status_code}: {r.text}")
        return r.json()

    # The customer user's site, and a ticket type enabled for its customer: what all three roles see.
    customer_sites = api.get("/sites", headers=headers["CUSTOMER"]).json()["items"]
    site = customer_sites[0]
    enabled = api.get(f"/sites/{site['id']}/ticket-types", headers=headers["CUSTOMER"]).json()["items"]
    out["FUZZ_SITE_ID"], out["FUZZ_TICKET_TYPE_ID"] = site["id"], enabled[0]["id"]
    out["FUZZ_CUSTOMER_ID"] = site["customer_id"]
    ticket = post(
        "/tickets",
        employee,
        json={"site_id": site["id"], "ticket_type_id": enabled[0]["id"], "title": "Fuzz"},
    )
    attachment = post(
        f"/tickets/{ticket['id']}/attachments",
        employee,
        files=[("files", ("note.txt", b"Checked by the fuzzer.\n", "text/plain"))],
    )["items"][0]
    out["FUZZ_ATTACHMENT_ID"] = attachment["id"]

    public = post(
        "/form-templates",
        admin,
        json={
            "name": "Public feedback",
            "is_public": True,
            "elements": [
                {"key": "comment", "type": "text", "label": "Comment", "required": True},
                {"key": "score", "type": "number", "label": "Score", "min": 0, "max": 10},
                {"key": "rating", "type": "rating", "label": "Rating"},
                {"key": "visited", "type": "date", "label": "Visited on"},
                {"key": "again", "type": "yes_no", "label": "Again?"},
                {"key": "area", "type": "choice", "label": "Area", "options": ["Foyer", "WC"]},
            ],
        },
    )
    out["FUZZ_PUBLIC_TOKEN"] = post(f"/form-templates/{public['id']}/publish", admin)["public_token"]

    published = [
        t for t in api.get("/form-templates", headers=employee).json()["items"] if t["status"] == "published"
    ]
    inspection = next(t for t in published if not t["is_public"] and t["subject"] == "site")
    out["FUZZ_TEMPLATE_ID"] = inspection["id"]
    submission = post(
        "/form-submissions", employee, json={"template_id": inspection["id"], "site_id": site["id"]}
    )
    out["FUZZ_SUBMISSION_ID"] = submission["id"]

    for use in ("UPDATE", "DELETE"):
        target = post(
            "/employees",
            admin,
            json={
                "email": f"fuzz-{use.lower()}@demo.blink.test",
                "name": f"Fuzz {use}",
                "password": secrets.token_urlsafe(18),
            },
        )
        out[f"FUZZ_EMPLOYEE_{use}_ID"] = target["id"]
        group = post("/permission-groups", admin, json={"name": f"Fuzz {use}"})
        out[f"FUZZ_GROUP_{use}_ID"] = group["id"]

    for name, value in out.items():
        print(f"{name}={value}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")

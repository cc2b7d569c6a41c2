"""Fuzzing every operation as every role with schemathesis: no input gives a server error (5xx).

The schema is built from every route of the app, the pages kept out of the published docs included
(copies of the routes with include_in_schema set), so it does not depend on who may read /openapi.json.
Each operation gets a few positive (schema-conforming) and a few negative (schema-violating) cases per
role, derandomized so a failure comes back on every run, without shrinking, to keep the test short.
"""

from __future__ import annotations

import copy
import importlib
import pkgutil

import schemathesis
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.python.asgi import ASGIClient

from fieldlog import accounts, events, photos, routes, surveys
from tests.factories import NOW, event, jpeg, plant, site, user

ROLES = (None, "alice", "carol", "dave")       # anonymous, inspector, chief, admin
EXAMPLES = {GenerationMode.POSITIVE: 3, GenerationMode.NEGATIVE: 2}


def every_route_schema() -> dict:
    """The OpenAPI document of every API route of the app, pages and hidden routes included."""
    found = []
    for name in sorted(m.name for m in pkgutil.iter_modules(routes.__path__)):
        for route in importlib.import_module(f"fieldlog.routes.{name}").router.routes:
            if isinstance(route, APIRoute):
                shown = copy.copy(route)
                shown.include_in_schema = True
                found.append(shown)
    return get_openapi(title="fieldlog (every route)", version="1", routes=found)


def _typed(node) -> bool:
    """Whether a JSON schema (or any part of it) asks for something other than a string: a negative case exists."""
    if isinstance(node, dict):
        kind = node.get("type")
        if kind not in (None, "string", "null") or "enum" in node or "format" in node:
            return True
        return any(_typed(v) for v in node.values())
    return isinstance(node, list) and any(_typed(v) for v in node)


def modes(definition: dict) -> dict:
    """The generation modes worth running for an operation, with their example counts.

    Negative cases exist only for a typed parameter or a body: any text is a valid string parameter, and
    hypothesis would spend hundreds of draws finding that out.
    """
    negatable = "requestBody" in definition or any(_typed(p.get("schema")) for p in definition.get("parameters", []))
    return {mode: n for mode, n in EXAMPLES.items() if negatable or mode is GenerationMode.POSITIVE}


def _seed(db, cfg, users) -> None:
    """Rows for small generated ids to find: sites, a plant, events of two inspectors, a photo, a notice, a survey."""
    s, p = site(db), plant(db)
    site(db, inspectors=[users["alice"]])
    notice = event(db, "safety_patrol", by="bob", site_id=s, fields={
        "finding": "一般", "hazards_general": 1, "notice_no": "衡建安改〔2021〕1号", "notice_deadline": "2021-06-30"})
    event(db, "concrete_sampling", by="alice", site_id=s, plant_id=p)
    event(db, "rectification_review", by="alice", site_id=s, fields={"notice_event_id": notice["id"], "closed": True})
    photos.ingest(db, cfg.media_dir, notice["id"], jpeg(), users["bob"])
    surveys.create_code(db, "satisfaction_survey", user=user(db, "carol"), now=NOW)
    events.void(db, event(db, "leaflets", by="alice")["id"], user=user(db, "alice"), reason="录入错误", now=NOW)


def _heal(db) -> None:
    """Undo what an admin's fuzzed call may have done to the callers themselves (deactivated, token revoked)."""
    db.execute("UPDATE users SET active = 1")
    db.execute("UPDATE api_tokens SET revoked_at = NULL")


def test_no_operation_gives_a_server_error_to_any_role(app, db, cfg, users):
    _seed(db, cfg, users)
    document = every_route_schema()
    schema = schemathesis.openapi.from_dict(document)
    clients = {}
    for role in ROLES:
        client = ASGIClient(app)
        if role:
            client.headers["Authorization"] = "Bearer " + accounts.create_token(db, role, "fuzz")
        clients[role] = client
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 60  # the whole app, not only /api/v1
    failures: list[str] = []
    for operation in operations:
        for mode, count in modes(document["paths"][operation.path][operation.method.lower()]).items():
            strategy = operation.as_strategy(generation_mode=mode)

            @settings(max_examples=count, derandomize=True, database=None, deadline=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def run(case):
                for role, client in clients.items():
                    _heal(db)
                    try:
                        status = case.call(session=client).status_code
                    except Exception as exc:  # the app raised: what a server would answer with a 500
                        status = f"{type(exc).__name__}: {exc}"
                    if not isinstance(status, int) or status >= 500:
                        failures.append(f"{operation.label} as {role or 'anonymous'} ({mode}): {status}\n"
                                        f"    {case.as_curl_command()}")

            run()
    assert not failures, "\n".join(failures[:20])

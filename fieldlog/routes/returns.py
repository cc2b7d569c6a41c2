"""Returns for correction (退回补正): the chief's return, resubmit and close from an entry's page, the chief's list of
open returns, and the same through the API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlite_utils import Database

from fieldlog import events, returns
from fieldlog.errors import Forbidden, InvalidInput
from fieldlog.messages import t
from fieldlog.routes.api_events import _body_schema, _object, json_body
from fieldlog.web import current_time, get_db, redirect, render, require

router = APIRouter()
field_worker = require("inspector", "chief")
CHIEF = require("chief")
# What a form or an API body names each action's text (a reason to return, a note otherwise).
TEXT_OF = {"return": "reason", "resubmit": "note", "close": "note"}
ACTIONS = {"return": returns.give_back, "resubmit": returns.resubmit, "close": returns.close}
STATES = {"open": returns.OPEN, **{s: (s,) for s in (*returns.OPEN, returns.CLOSED)}}


def _tz(request: Request):
    return request.app.state.config.tz


def _act(request: Request, db: Database, event_id: str, action: str, text: str, user: dict) -> dict:
    return ACTIONS[action](db, event_id, user=user, now=current_time(request), **{TEXT_OF[action]: text})


# --- pages ---------------------------------------------------------------------------------------------

async def _form_action(request: Request, event_id: str, action: str, db: Database, user: dict):
    """One step posted from the entry's page: back to it (or to `next`), or the form again with the message."""
    form = await request.form()
    text, back = str(form.get(TEXT_OF[action], "")), str(form.get("next", ""))
    event = events.load(db, event_id)
    if not events.can_see(event, user):
        raise Forbidden()
    try:
        _act(request, db, event_id, action, text, user)
    except InvalidInput as exc:
        return render(request, "event_return.html", {"event": event, "action": action, "errors": exc.errors,
                                                     "text": text, "field": TEXT_OF[action]}, 422)
    return redirect(back if back in ("/chief/returns", "/log") else f"/events/{event_id}#returns")


@router.post("/events/{event_id}/return")
async def return_entry(request: Request, event_id: str, db: Database = Depends(get_db), user=Depends(CHIEF)):
    """The chief returns the entry to its inspectors with a reason (or again, once they sent it back)."""
    return await _form_action(request, event_id, "return", db, user)


@router.post("/events/{event_id}/resubmit")
async def resubmit_entry(request: Request, event_id: str, db: Database = Depends(get_db), user=Depends(field_worker)):
    """An inspector of the entry sends it back, corrected, optionally with a note."""
    return await _form_action(request, event_id, "resubmit", db, user)


@router.post("/events/{event_id}/return/close")
async def close_return(request: Request, event_id: str, db: Database = Depends(get_db), user=Depends(CHIEF)):
    """The chief accepts the entry as it stands: the return is closed."""
    return await _form_action(request, event_id, "close", db, user)


@router.get("/chief/returns")
def returns_page(request: Request, state: str = "open", db: Database = Depends(get_db), user=Depends(CHIEF)):
    """The chief's returns: open ones (with the inspectors, then sent back to confirm) or the closed ones."""
    chosen = state if state in STATES else "open"
    return render(request, "returns.html", {
        "items": returns.listing(db, user, states=STATES[chosen], tz=_tz(request)), "counts": returns.counts(db, user),
        "state": chosen})


# --- API -----------------------------------------------------------------------------------------------

class ReturnIn(BaseModel):
    reason: str = Field(description="required: what to correct")


class NoteIn(BaseModel):
    note: str = Field("", description="optional: what was corrected, or why the entry stands")


ERRORS = {422: {"description": t("returns.api_invalid")}}


def _api_action(request: Request, event_id: str, action: str, body: Any, db: Database, user: dict) -> dict:
    event = events.load(db, event_id)
    if not events.can_see(event, user):
        raise Forbidden()
    found = _act(request, db, event_id, action, _object(body).get(TEXT_OF[action], ""), user)
    return returns.get(db, found["id"], _tz(request))


@router.post("/api/v1/events/{event_id}/return", status_code=201, tags=["returns"],
             openapi_extra=_body_schema(ReturnIn), responses=ERRORS)
def api_return(request: Request, event_id: str, body: Any = Depends(json_body), db: Database = Depends(get_db),
               user=Depends(CHIEF)):
    """Return an entry to its inspectors with a `reason` (chief); again once they sent it back."""
    return JSONResponse(_api_action(request, event_id, "return", body, db, user), status_code=201)


@router.post("/api/v1/events/{event_id}/resubmit", tags=["returns"], openapi_extra=_body_schema(NoteIn),
             responses=ERRORS)
def api_resubmit(request: Request, event_id: str, body: Any = Depends(json_body), db: Database = Depends(get_db),
                 user=Depends(field_worker)):
    """Send a returned entry back, corrected through PATCH /api/v1/events/{id}, with an optional `note`."""
    return _api_action(request, event_id, "resubmit", body, db, user)


@router.post("/api/v1/events/{event_id}/return/close", tags=["returns"], openapi_extra=_body_schema(NoteIn),
             responses=ERRORS)
def api_close(request: Request, event_id: str, body: Any = Depends(json_body), db: Database = Depends(get_db),
              user=Depends(CHIEF)):
    """Close an entry's open return (chief), with an optional `note`."""
    return _api_action(request, event_id, "close", body, db, user)


@router.get("/api/v1/returns", tags=["returns"])
def api_returns(request: Request, state: str = "open", db: Database = Depends(get_db), user=Depends(field_worker)):
    """Returns the user may see (an inspector: of their own entries) in a state: open (default), returned,
    resubmitted or closed; with the counts by state."""
    if state not in STATES:
        raise InvalidInput({"state": t("returns.state_unknown")})
    return {"items": returns.listing(db, user, states=STATES[state], tz=_tz(request)), "counts": returns.counts(db, user)}


@router.get("/api/v1/events/{event_id}/returns", tags=["returns"])
def api_event_returns(request: Request, event_id: str, db: Database = Depends(get_db), user=Depends(field_worker)):
    """Every return of an entry, newest first, with its steps."""
    if not events.can_see(events.load(db, event_id), user):
        raise Forbidden()
    return returns.of_event(db, event_id, _tz(request))

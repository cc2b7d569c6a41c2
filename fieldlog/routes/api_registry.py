"""JSON API for the registry: GET/POST /api/v1/sites and /api/v1/plants."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from sqlite_utils import Database

from fieldlog import integers, registry
from fieldlog.errors import InvalidInput
from fieldlog.messages import label, t
from fieldlog.periods import Period
from fieldlog.web import Int64, InvalidQuery, current_time, get_db, require, station_today

router = APIRouter(prefix="/api/v1", tags=["registry"])

# Fields are typed Any so that registry.py, not pydantic, judges the values and its Chinese messages
# reach the client; the schema annotations only document the expected JSON types.
Text = Annotated[Any, WithJsonSchema({"type": "string"})]
Number = Annotated[Any, WithJsonSchema({"type": "number"})]
Day = Annotated[Any, WithJsonSchema({"type": "string", "format": "date"})]


class PauseIn(BaseModel):
    start_on: Day = Field(None, description=t("api.pause_start_on"))
    end_on: Day = Field(None, description=t("api.pause_end_on"))
    reason: Text = Field("", description=label("pause_field", "reason"))


class SiteIn(BaseModel):
    """A site as sent to POST /api/v1/sites."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{
        "name": "衡东县城关镇安置小区", "reg_no": "HDJ2021-001", "town": "城关镇", "lat": 27.0814, "lon": 112.948,  # zh: data
        "uses_ready_mix": True, "started_on": "2021-03-01", "completed_on": None, "inspector_ids": [5],
        "pauses": [{"start_on": "2021-07-01", "end_on": "2021-08-15", "reason": "资金不到位"}]}]})  # zh: data
    name: Text = Field(None, description=t("api.site_name"))
    reg_no: Text = Field(None, description=t("api.site_reg_no"))
    address: Text = None
    town: Text = None
    lat: Number = Field(None, description=t("api.lat"))
    lon: Number = Field(None, description=t("api.lon"))
    builder: Text = Field(None, description=label("site_field", "builder"))
    contractor: Text = Field(None, description=label("site_field", "contractor"))
    supervisor: Text = Field(None, description=label("site_field", "supervisor"))
    uses_ready_mix: Annotated[Any, WithJsonSchema({"type": "boolean"})] = Field(None, description=t("api.uses_ready_mix"))
    started_on: Day = Field(None, description=t("api.started_on"))
    completed_on: Day = Field(None, description=t("api.completed_on"))
    inspector_ids: Annotated[Any, WithJsonSchema({"type": "array", "items": {"type": "integer"}})] = Field(
        None, description=t("api.inspector_ids"))
    pauses: Annotated[Any, WithJsonSchema({"type": "array", "items": PauseIn.model_json_schema()})] = Field(
        None, description=label("site_field", "pauses"))


class PlantIn(BaseModel):
    """A ready-mix concrete plant as sent to POST /api/v1/plants."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{
        "name": "衡东县恒通商品混凝土有限公司", "licence_no": "湘建混字第0001号", "town": "城关镇",  # zh: data
        "lat": 27.09, "lon": 112.94, "active_from": "2018-05-01", "active_to": None}]})
    name: Text = Field(None, description=t("api.plant_name"))
    licence_no: Text = Field(None, description=t("api.plant_licence_no"))
    address: Text = None
    town: Text = None
    lat: Number = None
    lon: Number = None
    active_from: Day = Field(None, description=label("plant_field", "active_from"))
    active_to: Day = Field(None, description=label("plant_field", "active_to"))


def _today(request: Request) -> date:
    return station_today(request)


def _day(text: str | None, name: str) -> Period | None:
    """A one-day period from a YYYY-MM-DD query parameter; InvalidQuery naming it when malformed."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidQuery({name: t("api.not_a_date")}) from None
    return Period(day, day, text)


def _ids(value, field: str = "inspector_ids") -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(i, int) and integers.parse(i) is not None for i in value):
        raise InvalidInput({field: t("api.inspector_ids_list")})
    return value


def _pauses(value) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(p, dict) for p in value):
        raise InvalidInput({"pauses": t("api.pauses_list")})
    return value


@router.get("/sites", summary=t("api.sites_list"))
def list_sites(request: Request, q: str = "", town: str = "", active_on: str | None = None,
               db: Database = Depends(get_db), user=Depends(require())):
    """Sites matching q (name, registration number, address, builder, contractor) and town; active_on=YYYY-MM-DD keeps those active that day."""
    return registry.list_sites(db, q, town, _day(active_on, "active_on"), _today(request))


@router.get("/sites/{site_id}", summary=t("api.site_detail"))
def get_site(request: Request, site_id: Int64, db: Database = Depends(get_db), user=Depends(require())):
    """One site with its inspectors and pauses."""
    return registry.site_record(db, site_id, _today(request))


@router.post("/sites", status_code=201, summary=t("api.site_create"))
def create_site(request: Request, body: SiteIn, db: Database = Depends(get_db), user=Depends(require("admin"))):
    """Create a site; 422 naming the field when a value is bad, and nothing is stored."""
    raw = body.model_dump()
    site_id = registry.save_site(db, raw, inspector_ids=_ids(raw.pop("inspector_ids")),
                                 pauses=_pauses(raw.pop("pauses")), actor=user, now=current_time(request))
    return registry.site_record(db, site_id, _today(request))


@router.put("/sites/{site_id}", summary=t("api.site_update"))
def update_site(request: Request, site_id: Int64, body: SiteIn, db: Database = Depends(get_db),
                user=Depends(require("admin"))):
    """Replace a site's fields, inspectors and pauses."""
    registry.get_site(db, site_id)
    raw = body.model_dump()
    registry.save_site(db, raw, site_id=site_id, inspector_ids=_ids(raw.pop("inspector_ids")),
                       pauses=_pauses(raw.pop("pauses")), actor=user, now=current_time(request))
    return registry.site_record(db, site_id, _today(request))


@router.get("/plants", summary=t("api.plants_list"))
def list_plants(request: Request, q: str = "", town: str = "", active_on: str | None = None,
                db: Database = Depends(get_db), user=Depends(require())):
    """Plants matching q (name, licence number, address) and town; active_on=YYYY-MM-DD keeps those active that day."""
    return registry.list_plants(db, q, town, _day(active_on, "active_on"), _today(request))


@router.get("/plants/{plant_id}", summary=t("api.plant_detail"))
def get_plant(request: Request, plant_id: Int64, db: Database = Depends(get_db), user=Depends(require())):
    """One plant."""
    return registry.plant_with_status(db, plant_id, _today(request))


@router.post("/plants", status_code=201, summary=t("api.plant_create"))
def create_plant(request: Request, body: PlantIn, db: Database = Depends(get_db), user=Depends(require("admin"))):
    """Create a plant; 422 naming the field when a value is bad."""
    plant_id = registry.save_plant(db, body.model_dump(), actor=user, now=current_time(request))
    return registry.plant_with_status(db, plant_id, _today(request))


@router.put("/plants/{plant_id}", summary=t("api.plant_update"))
def update_plant(request: Request, plant_id: Int64, body: PlantIn, db: Database = Depends(get_db),
                 user=Depends(require("admin"))):
    """Replace a plant's fields."""
    registry.get_plant(db, plant_id)
    registry.save_plant(db, body.model_dump(), plant_id=plant_id, actor=user,
                       now=current_time(request))
    return registry.plant_with_status(db, plant_id, _today(request))

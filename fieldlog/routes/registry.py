"""Registry pages: sites and plants (list, search, detail, create, edit) and the bulk import pages."""

from __future__ import annotations

import re
import secrets
import time
from datetime import date
from pathlib import Path

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlite_utils import Database

from fieldlog import accounts, importer, integers, registry
from fieldlog.errors import InvalidInput
from fieldlog.messages import t
from fieldlog.web import Int64, attachment, current_time, get_db, redirect, render, render_page, require, station_today

router = APIRouter()

PAUSE_BLANK_ROWS = 3
SITE_FORM_FIELDS = ["name", "reg_no", "address", "town", "lat", "lon", "builder", "contractor", "supervisor",
                    "started_on", "completed_on"]
PLANT_FORM_FIELDS = ["name", "licence_no", "address", "town", "lat", "lon", "active_from", "active_to"]
UPLOAD_NAME = re.compile(r"^[0-9a-f]{32}\.(csv|xlsx|txt)$")
UPLOAD_MAX_AGE = 24 * 3600
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _today(request: Request) -> date:
    return station_today(request)


# --- sites -------------------------------------------------------------------------------------------

@router.get("/sites")
def sites_list(request: Request, q: str = "", town: str = "", db: Database = Depends(get_db),
               user=Depends(require())):
    sites = registry.sites_with_status(db, registry.search_sites(db, q, town), _today(request))
    return render_page(request, "sites.html", "_site_rows.html",
                       {"sites": sites, "q": q, "town": town, "towns": registry.towns(db)})


def _site_form_context(db: Database, values: dict, inspector_ids: list[int], pauses: list[dict],
                       errors: dict | None = None, site_id: int | None = None) -> dict:
    rows = list(pauses) + [{"start_on": "", "end_on": "", "reason": ""} for _ in range(PAUSE_BLANK_ROWS)]
    return {"values": values, "inspector_ids": set(inspector_ids), "pauses": rows, "errors": errors or {},
            "site_id": site_id, "inspectors": accounts.inspectors(db)}


def _site_from_form(form) -> tuple[dict, list[int], list[dict], dict]:
    values = {k: str(form.get(k, "")).strip() for k in SITE_FORM_FIELDS}
    values["uses_ready_mix"] = "1" if form.get("uses_ready_mix") else "0"
    raw_ids = form.getlist("inspector_ids")
    errors = {}
    parsed = [integers.parse(i, low=1) for i in raw_ids]
    if None in parsed:
        errors["inspector_ids"] = t("routes.inspector_choice_invalid")
    ids = [i for i in parsed if i is not None]
    pauses = [{"start_on": s.strip(), "end_on": e.strip(), "reason": r.strip()}
              for s, e, r in zip(form.getlist("pause_start_on"), form.getlist("pause_end_on"), form.getlist("pause_reason"))]
    return values, ids, pauses, errors


async def _save_site_form(request: Request, db: Database, user: dict, site_id: int | None):
    values, ids, pauses, errors = _site_from_form(await request.form())
    # Every message shows at once; save_site checks the fields and pauses again.
    errors.update(registry.site_errors(values, pauses))
    try:
        if errors:
            raise InvalidInput(errors)
        site_id = registry.save_site(db, values, site_id=site_id, inspector_ids=ids, pauses=pauses, actor=user,
                                     now=current_time(request))
    except InvalidInput as exc:
        kept = [p for p in pauses if any(p.values())]
        return render(request, "site_form.html", _site_form_context(db, values, ids, kept, exc.errors, site_id), 422)
    return redirect(f"/sites/{site_id}")


@router.get("/sites/new")
def site_new(request: Request, db: Database = Depends(get_db), user=Depends(require("admin"))):
    return render(request, "site_form.html", _site_form_context(db, {"uses_ready_mix": "1"}, [], []))


@router.post("/sites/new")
async def site_create(request: Request, db: Database = Depends(get_db), user=Depends(require("admin"))):
    return await _save_site_form(request, db, user, None)


@router.get("/sites/{site_id:int}")
def site_detail(request: Request, site_id: Int64, db: Database = Depends(get_db), user=Depends(require())):
    site = registry.site_with_status(db, site_id, _today(request))
    return render(request, "site_detail.html", {"site": site})


@router.get("/sites/{site_id:int}/edit")
def site_edit(request: Request, site_id: Int64, db: Database = Depends(get_db), user=Depends(require("admin"))):
    site = registry.get_site(db, site_id)
    values = {k: "" if site[k] is None else str(site[k]) for k in SITE_FORM_FIELDS}
    values["uses_ready_mix"] = "1" if site["uses_ready_mix"] else "0"
    pauses = [{k: p[k] or "" for k in ("start_on", "end_on", "reason")} for p in site["pauses"]]
    return render(request, "site_form.html",
                  _site_form_context(db, values, [i["id"] for i in site["inspectors"]], pauses, site_id=site_id))


@router.post("/sites/{site_id:int}/edit")
async def site_update(request: Request, site_id: Int64, db: Database = Depends(get_db), user=Depends(require("admin"))):
    registry.get_site(db, site_id)
    return await _save_site_form(request, db, user, site_id)


# --- plants ------------------------------------------------------------------------------------------

@router.get("/plants")
def plants_list(request: Request, q: str = "", db: Database = Depends(get_db), user=Depends(require())):
    plants = registry.plants_with_status(registry.search_plants(db, q), _today(request))
    return render_page(request, "plants.html", "_plant_rows.html", {"plants": plants, "q": q})


async def _save_plant_form(request: Request, db: Database, user: dict, plant_id: int | None):
    form = await request.form()
    values = {k: str(form.get(k, "")).strip() for k in PLANT_FORM_FIELDS}
    try:
        plant_id = registry.save_plant(db, values, plant_id=plant_id, actor=user, now=current_time(request))
    except InvalidInput as exc:
        return render(request, "plant_form.html", {"values": values, "errors": exc.errors, "plant_id": plant_id}, 422)
    return redirect(f"/plants/{plant_id}")


@router.get("/plants/new")
def plant_new(request: Request, user=Depends(require("admin"))):
    return render(request, "plant_form.html", {"values": {}, "errors": {}, "plant_id": None})


@router.post("/plants/new")
async def plant_create(request: Request, db: Database = Depends(get_db), user=Depends(require("admin"))):
    return await _save_plant_form(request, db, user, None)


@router.get("/plants/{plant_id:int}")
def plant_detail(request: Request, plant_id: Int64, db: Database = Depends(get_db), user=Depends(require())):
    plant = registry.plant_with_status(db, plant_id, _today(request))
    return render(request, "plant_detail.html", {"plant": plant})


@router.get("/plants/{plant_id:int}/edit")
def plant_edit(request: Request, plant_id: Int64, db: Database = Depends(get_db), user=Depends(require("admin"))):
    plant = registry.get_plant(db, plant_id)
    values = {k: "" if plant[k] is None else str(plant[k]) for k in PLANT_FORM_FIELDS}
    return render(request, "plant_form.html", {"values": values, "errors": {}, "plant_id": plant_id})


@router.post("/plants/{plant_id:int}/edit")
async def plant_update(request: Request, plant_id: Int64, db: Database = Depends(get_db), user=Depends(require("admin"))):
    registry.get_plant(db, plant_id)
    return await _save_plant_form(request, db, user, plant_id)


# --- import ------------------------------------------------------------------------------------------

def _imports_dir(request: Request) -> Path:
    folder = request.app.state.config.data_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _keep_upload(folder: Path, filename: str, content: bytes) -> str:
    """Store an uploaded file under a random server-chosen name; drops leftovers older than a day."""
    for old in folder.iterdir():
        if UPLOAD_NAME.match(old.name) and old.stat().st_mtime < time.time() - UPLOAD_MAX_AGE:
            old.unlink(missing_ok=True)
    suffix = ".xlsx" if filename.lower().endswith(".xlsx") or content.startswith(b"PK\x03\x04") else ".csv"
    name = secrets.token_hex(16) + suffix
    (folder / name).write_bytes(content)
    return name


def _import_page(request: Request, kind: str, parsed=None, upload: str = "", done: bool = False,
                 error: str | None = None, status: int = 200):
    ctx = {"kind": kind, "parsed": parsed, "upload": upload, "done": done, "error": error,
           "label": importer.field_label}
    return render_page(request, "import.html", "_import_preview.html", ctx, status)


def _kind(request: Request) -> str:
    return "sites" if request.url.path.startswith("/sites/") else "plants"


@router.get("/sites/import")
@router.get("/plants/import")
def import_page(request: Request, user=Depends(require("admin"))):
    return _import_page(request, _kind(request))


@router.get("/sites/import/template.csv")
@router.get("/plants/import/template.csv")
def import_template_csv(request: Request, user=Depends(require("admin"))):
    kind = _kind(request)
    return Response(importer.template_csv(kind), media_type="text/csv; charset=utf-8",
                    headers=attachment(f"{kind}-template.csv"))


@router.get("/sites/import/template.xlsx")
@router.get("/plants/import/template.xlsx")
def import_template_xlsx(request: Request, user=Depends(require("admin"))):
    kind = _kind(request)
    return Response(importer.template_xlsx(kind), media_type=XLSX_TYPE,
                    headers=attachment(f"{kind}-template.xlsx"))


@router.post("/sites/import")
@router.post("/plants/import")
async def import_upload(request: Request, file: UploadFile | None = File(None),
                        db: Database = Depends(get_db), user=Depends(require("admin"))):
    kind = _kind(request)
    if file is None or not file.filename:
        return _import_page(request, kind, error=t("routes.import_file_required"), status=422)
    content = await file.read(importer.MAX_BYTES + 1)
    parsed = importer.preview(db, file.filename, content, kind)
    if parsed.error:
        return _import_page(request, kind, parsed, status=422)
    upload = _keep_upload(_imports_dir(request), file.filename, content) if parsed.accepted else ""
    return _import_page(request, kind, parsed, upload=upload)


@router.post("/sites/import/confirm")
@router.post("/plants/import/confirm")
def import_confirm(request: Request, upload: str = Form(""), filename: str = Form(""),
                   db: Database = Depends(get_db), user=Depends(require("admin"))):
    kind = _kind(request)
    path = _imports_dir(request) / upload
    if not UPLOAD_NAME.match(upload) or not path.is_file():
        return _import_page(request, kind, error=t("routes.import_upload_expired"), status=422)
    parsed = importer.parse_file(path.name, path.read_bytes(), kind)
    parsed.filename = filename[:200] or path.name
    importer.apply_import(db, parsed, actor=user, now=current_time(request))
    path.unlink(missing_ok=True)
    return _import_page(request, kind, parsed, done=True, status=422 if parsed.error else 200)

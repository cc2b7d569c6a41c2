"""Concrete sample pages: samples awaiting results, the result form of a sample, the import of a lab's sheet,
and the admin's list of testing labs."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlite_utils import Database

from fieldlog import importer, samples
from fieldlog.errors import InvalidInput
from fieldlog.messages import label, t
from fieldlog.routes.registry import UPLOAD_NAME, _imports_dir, _keep_upload
from fieldlog.web import Int64, attachment, current_time, get_db, redirect, render, render_page, require, station_today

router = APIRouter(include_in_schema=False)  # HTML pages: kept out of the API docs
DESK = require("inspector", "chief")
ADMIN = require("admin")
LAB_FIELDS = ("name", "licence_no", "address", "active")


@router.get("/samples")
def samples_page(request: Request, db: Database = Depends(get_db), user=Depends(DESK)):
    """Samples awaiting their lab result (overdue first) and the failed results that call for a notice."""
    today = station_today(request)
    return render(request, "samples.html", {"waiting": samples.awaiting(db, today), "failed": samples.failed(db, today),
                                            "due_days": samples.due_days(), "today": today})


def _result_page(request: Request, db: Database, event_id: str, values: dict, errors: dict, status: int = 200):
    return render(request, "sample_result.html", {
        "sample": samples.get_sample(db, event_id), "history": samples.history(db, event_id), "values": values,
        "errors": errors, "label": lambda f: label("result_field", f), "saved": bool(request.query_params.get("saved")),
        "source_label": lambda s: label("result_source", s)}, status)


@router.get("/samples/{event_id}/result")
def result_form(request: Request, event_id: str, db: Database = Depends(get_db), user=Depends(DESK)):
    return _result_page(request, db, event_id, {"report_on": station_today(request).isoformat()}, {})


@router.post("/samples/{event_id}/result")
async def result_save(request: Request, event_id: str, db: Database = Depends(get_db), user=Depends(DESK)):
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in samples.RESULT_FIELDS if k != "sample_no"}
    try:
        samples.record_result(db, event_id, values, user=user, now=current_time(request), today=station_today(request))
    except InvalidInput as exc:
        return _result_page(request, db, event_id, values, exc.errors, 422)
    return redirect(f"/samples/{event_id}/result?saved=1")


# --- the lab's sheet ------------------------------------------------------------------------------

def _import_page(request: Request, parsed=None, upload: str = "", done: bool = False, error: str | None = None,
                 status: int = 200):
    ctx = {"parsed": parsed, "upload": upload, "done": done, "error": error,
           "label": lambda _kind, f: label("result_field", f)}
    return render_page(request, "samples_import.html", "_import_preview.html", ctx, status)


@router.get("/samples/import")
def import_page(request: Request, user=Depends(DESK)):
    return _import_page(request)


@router.get("/samples/import/template.csv")
def import_template(request: Request, user=Depends(DESK)):
    return Response(samples.results_template_csv(), media_type="text/csv; charset=utf-8",
                    headers=attachment("lab-results-template.csv"))


@router.post("/samples/import")
async def import_upload(request: Request, file: UploadFile | None = File(None), db: Database = Depends(get_db),
                        user=Depends(DESK)):
    """The dry run: every row checked and reported, nothing written."""
    if file is None or not file.filename:
        return _import_page(request, error=t("routes.import_file_required"), status=422)
    content = await file.read(importer.MAX_BYTES + 1)
    parsed = samples.preview_results(db, file.filename, content, station_today(request))
    if parsed.error:
        return _import_page(request, parsed, status=422)
    upload = _keep_upload(_imports_dir(request), file.filename, content) if parsed.accepted else ""
    return _import_page(request, parsed, upload=upload)


@router.post("/samples/import/confirm")
def import_confirm(request: Request, upload: str = Form(""), filename: str = Form(""), db: Database = Depends(get_db),
                   user=Depends(DESK)):
    path = _imports_dir(request) / upload
    if not UPLOAD_NAME.match(upload) or not path.is_file():
        return _import_page(request, error=t("routes.import_upload_expired"), status=422)
    parsed = samples.parse_results(path.name, path.read_bytes())
    parsed.filename = filename[:200] or path.name
    samples.apply_results(db, parsed, user=user, now=current_time(request), today=station_today(request))
    path.unlink(missing_ok=True)
    return _import_page(request, parsed, done=True, status=422 if parsed.error else 200)


# --- labs (admin) ---------------------------------------------------------------------------------

@router.get("/labs")
def labs_page(request: Request, db: Database = Depends(get_db), user=Depends(require())):
    return render(request, "labs.html", {"labs": samples.labs(db)})


def _lab_form(request: Request, values: dict, errors: dict, lab_id: int | None, status: int = 200):
    return render(request, "lab_form.html", {"values": values, "errors": errors, "lab_id": lab_id}, status)


async def _save_lab(request: Request, db: Database, user: dict, lab_id: int | None):
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in LAB_FIELDS}
    values["active"] = "1" if form.get("active") else "0"
    try:
        samples.save_lab(db, values, lab_id=lab_id, actor=user, now=current_time(request))
    except InvalidInput as exc:
        return _lab_form(request, values, exc.errors, lab_id, 422)
    return redirect("/labs")


@router.get("/labs/new")
def lab_new(request: Request, user=Depends(ADMIN)):
    return _lab_form(request, {"active": "1"}, {}, None)


@router.post("/labs/new")
async def lab_create(request: Request, db: Database = Depends(get_db), user=Depends(ADMIN)):
    return await _save_lab(request, db, user, None)


@router.get("/labs/{lab_id:int}/edit")
def lab_edit(request: Request, lab_id: Int64, db: Database = Depends(get_db), user=Depends(ADMIN)):
    lab = samples.get_lab(db, lab_id)
    return _lab_form(request, {k: str(lab[k] or "") for k in LAB_FIELDS}, {}, lab_id)


@router.post("/labs/{lab_id:int}/edit")
async def lab_update(request: Request, lab_id: Int64, db: Database = Depends(get_db), user=Depends(ADMIN)):
    samples.get_lab(db, lab_id)
    return await _save_lab(request, db, user, lab_id)

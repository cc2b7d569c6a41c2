"""The `fieldlog` command line for the station's administrator."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import click

from fieldlog import accounts, config as config_mod, db as db_mod
from fieldlog.errors import InvalidInput
from fieldlog.messages import label, t


def _cfg(**overrides) -> config_mod.Config:
    try:
        return config_mod.load(**overrides)
    except ValueError as exc:  # a setting that cannot be used: say which, without a traceback
        click.echo(t("cli.error", message=exc), err=True)
        sys.exit(1)


def _db(cfg: config_mod.Config | None = None):
    cfg = cfg or _cfg()
    return db_mod.open_db(cfg.database)


def _fail(exc: InvalidInput) -> None:
    for field, message in exc.errors.items():
        click.echo(t("cli.field_error", field=field, message=message), err=True)
    sys.exit(1)


@click.group(help=t("cli.help"))
@click.version_option(package_name="fieldlog")
def main() -> None:
    """The `fieldlog` command group (its help text is the catalogue's cli.help)."""


@main.command()
@click.option("--host", default=None, help="Address to listen on (default FIELDLOG_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to listen on (default FIELDLOG_PORT or 8000).")
@click.option("--demo", is_flag=True, help="Serve a demo database (built on first use) with a year of example data.")
def serve(host: str | None, port: int | None, demo: bool) -> None:
    """Start the web server."""
    import uvicorn

    from fieldlog.web import create_app

    cfg = _cfg(host=host, port=port, demo=demo)
    if demo:
        cfg.database = cfg.data_dir / "demo.db"
        if not cfg.database.exists():
            click.echo(t("cli.building_demo"))
            _build_demo(cfg.database)
        _print_logins()
        from datetime import datetime

        from fieldlog import demo as demo_mod

        cfg.demo_today = demo_mod.demo_today(datetime.now(cfg.tz).date())
        click.echo(t("cli.demo_dates", year=demo_mod.DEMO_YEAR, today=cfg.demo_today))
    click.echo(t("cli.started", host=cfg.host, port=cfg.port, database=cfg.database))
    uvicorn.run(create_app(cfg), **server_options(cfg))


def server_options(cfg: config_mod.Config) -> dict:
    """What `fieldlog serve` passes to uvicorn.run.

    uvicorn's own forwarded-header handling stays off: with proxy_headers on it believes X-Forwarded-For from
    127.0.0.1 by default, so any process on the host could pose as any address and slip past the sign-in
    lockout and the survey limits. The app applies the forwarded headers itself, from FIELDLOG_TRUSTED_PROXIES
    only (web.create_app), which also holds when the app runs under another server or in tests.
    """
    return {"host": cfg.host, "port": cfg.port, "proxy_headers": False, "log_level": "info"}


def _build_demo(path: Path) -> None:
    from fieldlog import demo as demo_mod

    tmp = path.with_suffix(".building")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)
    db = db_mod.open_db(tmp)
    demo_mod.build(db)
    db.close()
    tmp.rename(path)


def _print_logins() -> None:
    from fieldlog import demo as demo_mod

    click.echo(t("cli.demo_logins", password=demo_mod.DEMO_PASSWORD))
    for username, role in demo_mod.LOGINS:
        click.echo(f"  {username:<12} {role}")


@main.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the demo database (default DATA_DIR/demo.db). An existing file is replaced.")
def demo(out: Path | None) -> None:
    """Build the demo database: the Hengdong registry, users and a year of events."""
    out = out or _cfg().data_dir / "demo.db"
    for old in (out, Path(f"{out}-wal"), Path(f"{out}-shm")):
        old.unlink(missing_ok=True)
    _build_demo(out)
    click.echo(t("cli.demo_built", path=out))
    _print_logins()


@main.command()
def migrate() -> None:
    """Apply pending database migrations (also done at every start)."""
    cfg = _cfg()
    db = db_mod.connect(cfg.database)
    applied = db_mod.migrate(db)
    if applied:
        click.echo(t("cli.migrations_applied", names=t("web.list_separator").join(applied)))
    else:
        click.echo(t("cli.up_to_date"))


@main.group()
def user() -> None:
    """Manage user accounts."""


@user.command("add")
@click.argument("username")
@click.option("--name", "display_name", required=True, help=t("cli.help_display_name"))
@click.option("--role", type=click.Choice(list(accounts.ROLES)), required=True, help="inspector, chief or admin.")
@click.password_option(help="Password (at least 10 characters); prompted when not given.")
def user_add(username: str, display_name: str, role: str, password: str) -> None:
    """Create a user."""
    try:
        accounts.create_user(_db(), username, display_name, role, password)
    except InvalidInput as exc:
        _fail(exc)
    click.echo(t("cli.user_created", username=username, role=label("role", role)))


@user.command("passwd")
@click.argument("username")
@click.password_option(help="New password (at least 10 characters).")
def user_passwd(username: str, password: str) -> None:
    """Set a user's password (ends the user's sessions)."""
    try:
        accounts.set_password(_db(), username, password)
    except InvalidInput as exc:
        _fail(exc)
    click.echo(t("cli.password_set", username=username))


@user.command("list")
def user_list() -> None:
    """List users."""
    for u in accounts.list_users(_db()):
        state = "" if u["active"] else t("cli.user_inactive")
        click.echo(f"{u['id']:>4}  {u['username']:<16} {label('role', u['role']):<4} {u['display_name']}{state}")


@main.group()
def token() -> None:
    """Manage API bearer tokens."""


@token.command("create")
@click.argument("username")
@click.option("--name", default="api", help="What the token is for.")
def token_create(username: str, name: str) -> None:
    """Create a bearer token for USERNAME and print it once."""
    try:
        click.echo(accounts.create_token(_db(), username, name))
    except InvalidInput as exc:
        _fail(exc)


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke a token by its id (see `token list`)."""
    if not accounts.revoke_token(_db(), token_id):
        click.echo(t("cli.error", message=t("accounts.token_not_live")), err=True)
        sys.exit(1)
    click.echo(t("cli.token_revoked", id=token_id))


@token.command("list")
def token_list() -> None:
    """List tokens (never their secret)."""
    for tok in accounts.list_tokens(_db()):
        state = t("cli.token_revoked_at", at=tok["revoked_at"]) if tok["revoked_at"] else t("cli.token_live")
        click.echo(f"{tok['id']:>4}  {tok['username']:<16} {tok['name']:<16} {tok['created_at']}  {state}")


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--media/--no-media", default=True, show_default=True,
              help="Also copy the photo files into PATH-media/ (photos live on disk, not in the database).")
def backup(path: Path, media: bool) -> None:
    """Copy the database to PATH with SQLite's online backup API (safe while the server runs), and the photos."""
    import shutil

    cfg = _cfg()
    if path.exists():
        click.echo(t("cli.error", message=t("cli.path_exists", path=path)), err=True)
        sys.exit(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(str(cfg.database))
    dst = sqlite3.connect(str(path))
    with dst:
        src.backup(dst)
    dst.close()
    src.close()
    click.echo(t("cli.backup_done", path=path))
    if media and cfg.media_dir.is_dir():
        # Photo files are written once under server-chosen names and never changed, so a plain copy is consistent.
        target = Path(f"{path}-media")
        shutil.copytree(cfg.media_dir, target, dirs_exist_ok=True)
        click.echo(t("cli.backup_media_done", path=target))


def _import(path: Path, kind: str, dry_run: bool) -> None:
    from fieldlog import importer

    db = _db()
    parsed = importer.preview(db, path.name, path.read_bytes(), kind)
    if parsed.error:
        click.echo(t("cli.error", message=t("cli.import_refused", error=parsed.error)), err=True)
        sys.exit(1)
    if parsed.ignored_columns:
        click.echo(t("cli.ignored_columns", columns=t("web.list_separator").join(parsed.ignored_columns)))
    if not dry_run:
        importer.apply_import(db, parsed, actor=None)
    for row in parsed.rows:
        if row.errors:
            problems = t("web.clause_separator").join(
                t("cli.row_problem", field=importer.field_label(kind, f), message=m) for f, m in row.errors.items())
            click.echo(t("cli.row_skipped", n=row.number, row=row.label, problems=problems))
        else:
            click.echo(t("cli.row_importable" if dry_run else "cli.row_imported", n=row.number, row=row.label))
    if dry_run:
        click.echo(t("cli.dry_run_done", accepted=len(parsed.accepted), rejected=len(parsed.rejected)))
    else:
        click.echo(t("cli.import_done", written=parsed.written, rejected=len(parsed.rejected)))


@main.command("import-sites")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and print the report without writing anything.")
def import_sites(file: Path, dry_run: bool) -> None:
    """Import sites from a CSV or XLSX FILE (Chinese headers, see the template); rows with problems are skipped."""
    _import(file, "sites", dry_run)


@main.command("import-plants")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and print the report without writing anything.")
def import_plants(file: Path, dry_run: bool) -> None:
    """Import ready-mix concrete plants from a CSV or XLSX FILE; rows with problems are skipped."""
    _import(file, "plants", dry_run)


# --- indicators: target tables and the roll-up --------------------------------------------------

@main.group()
def table() -> None:
    """Target tables (绩效目标表): load a year's TOML file, show a year's table."""


@table.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def table_load(file: Path) -> None:
    """Check FILE and store it as the table of its year (earlier loads are kept)."""
    from fieldlog.indicators import tables

    try:
        loaded = tables.load_table(_db(), file.read_text(encoding="utf-8"), loaded_by="cli")
    except InvalidInput as exc:
        _fail(exc)
    click.echo(t("cli.table_loaded", year=loaded.year, station=loaded.station, rows=len(loaded.rows)))


@table.command("show")
@click.argument("year", type=int)
def table_show(year: int) -> None:
    """Print YEAR's table: levels, target text, parsed target and rule of every row."""
    from fieldlog.indicators import tables

    tbl = tables.table_for_year(_db(), year)
    origin = {"loaded": t("cli.table_origin_loaded"), "shipped": t("cli.table_origin_shipped"),
              "inherited": t("cli.table_origin_inherited", year=tbl.inherited_from)}[tbl.origin]
    click.echo(t("cli.table_heading", title=tbl.title, station=tbl.station, origin=origin))
    for r in tbl.rows:
        parsed = (t("cli.target_is_text") if r.target.comparator == "text"
                  else f"{r.target.comparator} {r.target.value:g}{r.target.unit}")
        points = "" if r.points is None else "  " + t("cli.points", points=f"{r.points:g}")
        click.echo(f"{r.number:>3}  {r.level1}/{r.level2}/{r.level3}  {r.target_text or t('web.blank')}  [{parsed}]  "
                   f"{r.rule}{points}")


@main.command()
@click.option("--year", type=int, required=True, help="The year to roll up, e.g. 2021.")
@click.option("--as-of", "as_of", default=None, help="Compute as of this date, YYYY-MM-DD (default: today).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output file: .xlsx, .csv (UTF-8 with BOM) or .json, chosen by its ending.")
def rollup(year: int, as_of: str | None, out: Path) -> None:
    """Roll up YEAR's target table (actual values, completion, scores) to a file."""
    import json
    from datetime import date, datetime

    from fieldlog.indicators import evaluation
    from fieldlog.web import with_evidence_urls

    cfg = _cfg()
    try:
        day = date.fromisoformat(as_of) if as_of else datetime.now(cfg.tz).date()
    except ValueError:
        click.echo(t("cli.error", message=t("cli.as_of_invalid")), err=True)
        sys.exit(1)
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv", ".json"):
        click.echo(t("cli.error", message=t("cli.out_suffix_invalid")), err=True)
        sys.exit(1)
    ev = evaluation.build(_db(cfg), year, day, cfg.tz)
    if suffix == ".json":
        out.write_text(json.dumps(with_evidence_urls(evaluation.to_json(ev)), ensure_ascii=False, indent=2),
                       encoding="utf-8")
    else:
        out.write_bytes(evaluation.to_csv(ev) if suffix == ".csv" else evaluation.to_xlsx(ev))
    click.echo(t("cli.rollup_done", path=out, year=year, day=day, total=evaluation.fmt_score(ev.totals.total),
                 grade=ev.totals.grade))

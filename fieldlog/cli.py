"""The `fieldlog` command line for the station's administrator.

Command names are English; everything the admin reads is Chinese: each command's help and messages come from
the catalogue (keys "cli.*"), and click's own words (usage, "Missing argument", "No such command", the help
option) are translated while a fieldlog command runs (`FieldlogGroup.main`, with `messages.CLICK`).
"""

from __future__ import annotations

import functools
import sys
from contextlib import contextmanager
from datetime import date, datetime, time, timezone
from pathlib import Path

import click

from fieldlog import accounts, config as config_mod, db as db_mod, ops
from fieldlog.errors import InvalidInput
from fieldlog.messages import CLICK, label, t

# click's modules that call gettext; while a fieldlog command runs their `_` and `ngettext` answer in Chinese.
_CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "termui", "types", "utils",
                  "_termui_impl", "shell_completion")


def _gettext(message: str) -> str:
    return CLICK.get(message, message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return _gettext(singular if n == 1 else plural)


@contextmanager
def click_in_chinese():
    """click's built-in messages in Chinese for the duration of the block (restored afterwards)."""
    import importlib

    saved = []
    for name in _CLICK_MODULES:
        try:
            module = importlib.import_module(f"click.{name}")
        except ImportError:
            continue
        for attr, ours in (("_", _gettext), ("ngettext", _ngettext)):
            if hasattr(module, attr):
                saved.append((module, attr, getattr(module, attr)))
                setattr(module, attr, ours)
    try:
        yield
    finally:
        for module, attr, original in saved:
            setattr(module, attr, original)


class FieldlogFormatter(click.HelpFormatter):
    """Help headings end with a Chinese colon (选项：, 命令：)."""

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{t('cli.heading', heading=heading)}\n")


class FieldlogContext(click.Context):
    formatter_class = FieldlogFormatter


class FieldlogCommand(click.Command):
    """A command whose usage line and help read in Chinese."""

    context_class = FieldlogContext

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", t("cli.metavar_options"))
        super().__init__(*args, **kwargs)


class FieldlogGroup(click.Group):
    """A group whose commands and subgroups are fieldlog's, and which runs them with click speaking Chinese."""

    command_class = FieldlogCommand
    context_class = FieldlogContext

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", t("cli.metavar_options"))
        kwargs.setdefault("subcommand_metavar", t("cli.metavar_subcommand"))
        super().__init__(*args, **kwargs)

    def main(self, *args, **kwargs):
        with click_in_chinese():
            return super().main(*args, **kwargs)


FieldlogGroup.group_class = FieldlogGroup


def _fail_with(message: str) -> None:
    click.echo(t("cli.error", message=message), err=True)
    sys.exit(1)


def _cfg(**overrides) -> config_mod.Config:
    try:
        return config_mod.load(**overrides)
    except ValueError as exc:  # a setting that cannot be used: say which, without a traceback
        _fail_with(str(exc))


def _fail(exc: InvalidInput) -> None:
    for field, message in exc.errors.items():
        click.echo(t("cli.field_error", field=field, message=message), err=True)
    sys.exit(1)


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- which database: FIELDLOG_DATABASE, --database PATH or --demo -----------------------------------

def demo_path(cfg: config_mod.Config) -> Path:
    """The demo database `fieldlog demo` and `serve --demo` build: DATA_DIR/demo.db."""
    return cfg.data_dir / "demo.db"


def with_database(must_exist: bool = False, builds_demo: bool = False):
    """Add --database PATH and --demo to a command; it receives `cfg` with the database they chose.

    must_exist: refuse a database file that is not there (reading commands must not create an empty one);
    builds_demo: the command builds the demo database itself when it is missing (serve).
    """

    def decorate(command):
        @click.option("--database", "database", type=click.Path(dir_okay=False, path_type=Path), default=None,
                      metavar=t("cli.metavar_file"), help=t("cli.opt_database"))
        @click.option("--demo", "demo", is_flag=True, help=t("cli.opt_demo"))
        @functools.wraps(command)
        def wrapper(*args, database: Path | None, demo: bool, **kwargs):
            if database and demo:
                _fail_with(t("cli.database_and_demo"))
            cfg = _cfg(database=str(database) if database else None, demo=demo)
            if demo:
                cfg.database = demo_path(cfg)
                if not cfg.database.exists() and not builds_demo:
                    _fail_with(t("cli.demo_missing", path=cfg.database))
            elif must_exist and not cfg.database.is_file():
                _fail_with(t("cli.database_missing", path=cfg.database))
            return command(*args, cfg=cfg, **kwargs)

        return wrapper

    return decorate


def _db(cfg: config_mod.Config):
    return db_mod.open_db(cfg.database)


@click.group(cls=FieldlogGroup, help=t("cli.help"), context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fieldlog", help=t("cli.opt_version"), message=t("cli.version"))
def main() -> None:
    """The `fieldlog` command group (its help text is the catalogue's cli.help)."""


@main.command(help=t("cli.help_serve"))
@click.option("--host", default=None, metavar=t("cli.metavar_host"), help=t("cli.opt_host"))
@click.option("--port", default=None, type=int, metavar=t("cli.metavar_port"), help=t("cli.opt_port"))
@with_database(builds_demo=True)
def serve(host: str | None, port: int | None, cfg: config_mod.Config) -> None:
    """Start the web server (with --demo: on the demo database, rebuilt when it was built on an earlier day)."""
    from fieldlog.web import create_app

    cfg.host, cfg.port = host or cfg.host, port or cfg.port
    if cfg.demo:
        _serve_demo(cfg)
    bring_up_to_date(cfg.database)
    click.echo(t("cli.started", host=cfg.host, port=cfg.port, database=cfg.database))
    run_server(create_app(cfg), cfg)


def bring_up_to_date(path: Path) -> list[str]:
    """Apply the pending migrations of an existing database before serving, saying so first: on a large
    database they take a while (25 s at 10 M events), and a server that prints nothing looks hung."""
    if not Path(path).exists():
        return []  # a new database: its tables are made in a moment when the app opens it
    db = db_mod.connect(path)
    try:
        pending = db_mod.pending_migrations(db)
        if pending:
            names = t("web.list_separator").join(pending)
            click.echo(t("cli.migrating", n=len(pending), names=names))
            db_mod.migrate(db)
            click.echo(t("cli.migrations_applied", names=names))
    finally:
        db.close()
    return pending


def run_server(app, cfg: config_mod.Config) -> None:
    """Serve `app` as `fieldlog serve` does: its reader processes (fieldlog/readers.py) forked first, then uvicorn."""
    import uvicorn

    from fieldlog import readers

    readers.start(app, cfg.readers)
    try:
        uvicorn.run(app, **server_options(cfg))
    finally:
        readers.stop()


def _serve_demo(cfg: config_mod.Config) -> None:
    from fieldlog import demo as demo_mod

    built = demo_for_serving(cfg.database, _now())
    _print_logins()
    click.echo(demo_dates_line(built.astimezone(demo_mod.TZ)))


def demo_dates_line(current) -> str:
    """What the demo holds, its dates written the Chinese way (12 月 2 日 11:10, not 2026-12-02)."""
    return t("cli.demo_dates", previous=current.year - 1, year=current.year,
             until=t("cli.demo_until", month=current.month, day=current.day, time=f"{current:%H:%M}"))


def demo_for_serving(path: Path, now: datetime) -> datetime:
    """Make sure the demo at `path` runs up to today: build it when missing or built on an earlier day (unless a
    running fieldlog has it open); return when the demo served was built."""
    from fieldlog import demo as demo_mod

    built = None
    if path.exists():
        db = db_mod.open_db(path)
        built = demo_mod.built_at(db)
        db.close()
    if built is not None and built.astimezone(demo_mod.TZ).date() >= now.astimezone(demo_mod.TZ).date():
        return built
    try:
        lock = ops.exclusive(path)
    except ops.OpsError:
        if built is None:
            raise
        click.echo(t("cli.demo_in_use", day=built.astimezone(demo_mod.TZ).date()))
        return built
    try:
        click.echo(t("cli.building_demo") if built is None else
                   t("cli.rebuilding_demo", day=built.astimezone(demo_mod.TZ).date()))
        _build_demo(path, now)
    finally:
        lock.close()
    return now


def server_options(cfg: config_mod.Config) -> dict:
    """What `fieldlog serve` passes to uvicorn.run.

    uvicorn's own forwarded-header handling stays off: with proxy_headers on it believes X-Forwarded-For from
    127.0.0.1 by default, so any process on the host could pose as any address and slip past the sign-in
    lockout and the survey limits. The app applies the forwarded headers itself, from FIELDLOG_TRUSTED_PROXIES
    only (web.create_app), which also holds when the app runs under another server or in tests.
    """
    return {"host": cfg.host, "port": cfg.port, "proxy_headers": False, "log_level": "info"}


def _build_demo(path: Path, now: datetime) -> None:
    from fieldlog import demo as demo_mod

    tmp = path.with_suffix(".building")
    for leftover in ops.sidecars(tmp):
        leftover.unlink(missing_ok=True)
    db = db_mod.open_db(tmp)
    demo_mod.build(db, now)
    db.close()
    for old in ops.sidecars(path):
        old.unlink(missing_ok=True)
    tmp.rename(path)


def _print_logins() -> None:
    from fieldlog import demo as demo_mod

    click.echo(t("cli.demo_logins", password=demo_mod.DEMO_PASSWORD))
    for username, role in demo_mod.LOGINS:
        click.echo(f"  {username:<12} {role}")


def _day(text: str | None, option: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        _fail_with(t("cli.date_invalid", option=option))


@main.command(help=t("cli.help_demo"))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar=t("cli.metavar_file"),
              help=t("cli.opt_demo_out"))
@click.option("--as-of", "as_of", default=None, metavar=t("cli.metavar_date"), help=t("cli.opt_demo_as_of"))
def demo(out: Path | None, as_of: str | None) -> None:
    """Build the demo database: the registry, users, last year complete and this year up to now (or --as-of)."""
    from fieldlog import demo as demo_mod

    day = _day(as_of, "--as-of")
    now = datetime.combine(day, time(23, 59, 59), demo_mod.TZ) if day else _now()
    out = out or demo_path(_cfg())
    try:
        lock = ops.exclusive(out)  # never replace a demo a running server has open
    except ops.OpsError as exc:
        _fail_with(str(exc))
    try:
        _build_demo(out, now)
    finally:
        lock.close()
    click.echo(t("cli.demo_built", path=out))
    _print_logins()


@main.command(help=t("cli.help_migrate"))
@with_database()
def migrate(cfg: config_mod.Config) -> None:
    """Apply pending database migrations (also done at every start)."""
    db = db_mod.connect(cfg.database)
    applied = db_mod.migrate(db)
    if applied:
        click.echo(t("cli.migrations_applied", names=t("web.list_separator").join(applied)))
    else:
        click.echo(t("cli.up_to_date"))


@main.group(help=t("cli.help_user"))
def user() -> None:
    """Manage user accounts."""


@user.command("add", help=t("cli.help_user_add"))
@click.argument("username", metavar=t("cli.metavar_username"))
@click.option("--name", "display_name", required=True, metavar=t("cli.metavar_name"), help=t("cli.help_display_name"))
@click.option("--role", type=click.Choice(list(accounts.ROLES)), required=True, help=t("cli.opt_role"))
@click.password_option(prompt=t("cli.prompt_password"), metavar=t("cli.metavar_password"), help=t("cli.opt_password"))
@with_database()
def user_add(username: str, display_name: str, role: str, password: str, cfg: config_mod.Config) -> None:
    """Create a user."""
    try:
        accounts.create_user(_db(cfg), username, display_name, role, password)
    except InvalidInput as exc:
        _fail(exc)
    click.echo(t("cli.user_created", username=username, role=label("role", role)))


@user.command("passwd", help=t("cli.help_user_passwd"))
@click.argument("username", metavar=t("cli.metavar_username"))
@click.password_option(prompt=t("cli.prompt_new_password"), metavar=t("cli.metavar_password"),
                       help=t("cli.opt_new_password"))
@with_database()
def user_passwd(username: str, password: str, cfg: config_mod.Config) -> None:
    """Set a user's password (ends the user's sessions)."""
    try:
        accounts.set_password(_db(cfg), username, password)
    except InvalidInput as exc:
        _fail(exc)
    click.echo(t("cli.password_set", username=username))


@user.command("list", help=t("cli.help_user_list"))
@with_database()
def user_list(cfg: config_mod.Config) -> None:
    """List users."""
    for u in accounts.list_users(_db(cfg)):
        state = "" if u["active"] else t("cli.user_inactive")
        click.echo(f"{u['id']:>4}  {u['username']:<16} {label('role', u['role']):<4} {u['display_name']}{state}")


@main.group(help=t("cli.help_token"))
def token() -> None:
    """Manage API bearer tokens."""


@token.command("create", help=t("cli.help_token_create"))
@click.argument("username", metavar=t("cli.metavar_username"))
@click.option("--name", default="api", metavar=t("cli.metavar_name"), help=t("cli.opt_token_name"))
@with_database()
def token_create(username: str, name: str, cfg: config_mod.Config) -> None:
    """Create a bearer token for USERNAME and print it once."""
    try:
        click.echo(accounts.create_token(_db(cfg), username, name))
    except InvalidInput as exc:
        _fail(exc)


@token.command("revoke", help=t("cli.help_token_revoke"))
@click.argument("token_id", type=int, metavar=t("cli.metavar_token_id"))
@with_database()
def token_revoke(token_id: int, cfg: config_mod.Config) -> None:
    """Revoke a token by its id (see `token list`)."""
    if not accounts.revoke_token(_db(cfg), token_id):
        _fail_with(t("accounts.token_not_live"))
    click.echo(t("cli.token_revoked", id=token_id))


@token.command("list", help=t("cli.help_token_list"))
@with_database()
def token_list(cfg: config_mod.Config) -> None:
    """List tokens (never their secret)."""
    for tok in accounts.list_tokens(_db(cfg)):
        state = t("cli.token_revoked_at", at=tok["revoked_at"]) if tok["revoked_at"] else t("cli.token_live")
        click.echo(f"{tok['id']:>4}  {tok['username']:<16} {tok['name']:<16} {tok['created_at']}  {state}")


# --- operations: backup, restore, check -------------------------------------------------------------

@main.command(help=t("cli.help_backup"), short_help=t("cli.short_backup"))
@click.argument("path", required=False, type=click.Path(path_type=Path), metavar=t("cli.metavar_backup_path"))
@click.option("--keep", type=click.IntRange(min=1), default=None, metavar="N", help=t("cli.opt_keep"))
@click.option("--media/--no-media", default=True, show_default=True, help=t("cli.opt_media"))
@with_database(must_exist=True)
def backup(path: Path | None, keep: int | None, media: bool, cfg: config_mod.Config) -> None:
    """Back up the database (online backup API, safe while the server runs) and the photos.

    PATH a folder (or no PATH: FIELDLOG_BACKUP_DIR): a new timestamped backup in it, --keep N keeps the newest N.
    PATH that does not exist yet, without --keep: the backup is written to that file, as it always was.
    """
    media_dir = cfg.media_dir if media else None
    try:
        if path is not None and not path.is_dir() and keep is None:
            made, removed = ops.backup(cfg.database, media_dir, path), []
        else:
            folder = path or backup_dir(cfg)
            if folder.exists() and not folder.is_dir():
                _fail_with(t("cli.path_exists", path=folder))
            made, removed = ops.backup_into(folder, cfg.database, media_dir, _now(), keep)
    except ops.OpsError as exc:
        _fail_with(str(exc))
    click.echo(t("cli.backup_done", path=made))
    if ops.media_of(made).is_dir():
        click.echo(t("cli.backup_media_done", path=ops.media_of(made)))
    for old in removed:
        click.echo(t("cli.backup_removed", path=old))


def backup_dir(cfg: config_mod.Config) -> Path:
    """Where timestamped backups go: FIELDLOG_BACKUP_DIR, else DATA_DIR/backups."""
    return cfg.backup_dir or cfg.data_dir / "backups"


@main.command(help=t("cli.help_restore"), short_help=t("cli.short_restore"))
@click.argument("source", type=click.Path(path_type=Path), metavar=t("cli.metavar_backup_file"))
@with_database()
def restore(source: Path, cfg: config_mod.Config) -> None:
    """Replace the database with the backup SOURCE and add its photos; refused while a fieldlog process has it open."""
    try:
        done = ops.restore(source, cfg.database, cfg.media_dir, _now())
    except ops.OpsError as exc:
        _fail_with(str(exc))
    click.echo(t("cli.restore_done", source=source, path=done.database, photos=done.photos))
    if done.migrations:
        click.echo(t("cli.migrations_applied", names=t("web.list_separator").join(done.migrations)))
    if done.kept:
        click.echo(t("cli.restore_kept", path=done.kept))


@main.command(help=t("cli.help_check"), short_help=t("cli.short_check"))
@click.option("--full", is_flag=True, help=t("cli.opt_full"))
@with_database()
def check(full: bool, cfg: config_mod.Config) -> None:
    """Check the installation; one line per item, OK or what to do; exit code 1 when something needs doing."""
    import os

    now = _now()
    findings = ops.check_database(cfg.database, full)
    findings += ops.check_disk([cfg.database.parent, cfg.media_dir, backup_dir(cfg)])
    findings.append(ops.check_secret(cfg.database.parent / "secret.key", bool(os.environ.get("FIELDLOG_SECRET_KEY"))))
    findings.append(ops.check_public_url(getattr(cfg, "public_url", "") or ""))
    findings.append(ops.check_timezone(cfg.timezone, now))
    findings.append(ops.check_backups(backup_dir(cfg), now))
    for finding in findings:
        mark = t("cli.check_ok") if finding.ok else t("cli.check_todo")
        click.echo(t("cli.check_line", mark=mark, topic=finding.topic, text=finding.text))
    todo = sum(not f.ok for f in findings)
    click.echo(t("cli.check_summary_todo", n=todo) if todo else t("cli.check_summary_ok"))
    sys.exit(1 if todo else 0)


# --- registry import --------------------------------------------------------------------------------

def _import(cfg: config_mod.Config, path: Path, kind: str, dry_run: bool) -> None:
    from fieldlog import importer

    db = _db(cfg)
    parsed = importer.preview(db, path.name, path.read_bytes(), kind)
    if parsed.error:
        _fail_with(t("cli.import_refused", error=parsed.error))
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


def _import_command(kind: str):
    """`fieldlog import-<kind> FILE [--dry-run]`: import sites or plants from CSV or XLSX; bad rows are skipped."""

    @main.command(f"import-{kind}", help=t(f"cli.help_import_{kind}"))
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar=t("cli.metavar_file"))
    @click.option("--dry-run", is_flag=True, help=t("cli.opt_dry_run"))
    @with_database()
    def command(file: Path, dry_run: bool, cfg: config_mod.Config) -> None:
        _import(cfg, file, kind, dry_run)

    return command


import_sites, import_plants = _import_command("sites"), _import_command("plants")


# --- indicators: target tables and the roll-up --------------------------------------------------

@main.group(help=t("cli.help_table"))
def table() -> None:
    """Target tables (绩效目标表): load a year's TOML file, show a year's table."""


@table.command("load", help=t("cli.help_table_load"))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar=t("cli.metavar_file"))
@with_database()
def table_load(file: Path, cfg: config_mod.Config) -> None:
    """Check FILE and store it as the table of its year (earlier loads are kept)."""
    from fieldlog.indicators import tables

    try:
        loaded = tables.load_table(_db(cfg), file.read_text(encoding="utf-8"), loaded_by="cli")
    except InvalidInput as exc:
        _fail(exc)
    click.echo(t("cli.table_loaded", year=loaded.year, station=loaded.station, rows=len(loaded.rows)))


@table.command("show", help=t("cli.help_table_show"))
@click.argument("year", type=int, metavar=t("cli.metavar_year"))
@with_database()
def table_show(year: int, cfg: config_mod.Config) -> None:
    """Print YEAR's table: levels, target text, parsed target and rule of every row."""
    from fieldlog.indicators import tables

    tbl = tables.table_for_year(_db(cfg), year)
    origin = {"loaded": t("cli.table_origin_loaded"), "shipped": t("cli.table_origin_shipped"),
              "inherited": t("cli.table_origin_inherited", year=tbl.inherited_from)}[tbl.origin]
    click.echo(t("cli.table_heading", title=tbl.title, station=tbl.station, origin=origin))
    for r in tbl.rows:
        parsed = (t("cli.target_is_text") if r.target.comparator == "text"
                  else f"{r.target.comparator} {r.target.value:g}{r.target.unit}")
        points = "" if r.points is None else "  " + t("cli.points", points=f"{r.points:g}")
        click.echo(f"{r.number:>3}  {r.level1}/{r.level2}/{r.level3}  {r.target_text or t('web.blank')}  [{parsed}]  "
                   f"{r.rule}{points}")


@main.command(help=t("cli.help_rollup"))
@click.option("--year", type=int, required=True, metavar=t("cli.metavar_year"), help=t("cli.opt_year"))
@click.option("--as-of", "as_of", default=None, metavar=t("cli.metavar_date"), help=t("cli.opt_as_of"))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, metavar=t("cli.metavar_file"),
              help=t("cli.opt_rollup_out"))
@with_database()
def rollup(year: int, as_of: str | None, out: Path, cfg: config_mod.Config) -> None:
    """Roll up YEAR's target table (actual values, completion, scores) to a file; warn when the year has no events."""
    import json

    from fieldlog import events
    from fieldlog.indicators import evaluation
    from fieldlog.web import with_evidence_urls

    day = _day(as_of, "--as-of") or datetime.now(cfg.tz).date()
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv", ".json"):
        _fail_with(t("cli.out_suffix_invalid"))
    db = _db(cfg)
    ev = evaluation.build(db, year, day, cfg.tz)
    if suffix == ".json":
        out.write_text(json.dumps(with_evidence_urls(evaluation.to_json(ev)), ensure_ascii=False, indent=2),
                       encoding="utf-8")
    else:
        out.write_bytes(evaluation.to_csv(ev) if suffix == ".csv" else evaluation.to_xlsx(ev))
    if not events.count_events(db, date_from=f"{year:04d}-01-01", date_to=min(day, date(year, 12, 31)).isoformat(),
                               include_voided=False):
        click.echo(t("cli.rollup_written", path=out, year=year, day=day))
        click.echo(t("cli.rollup_no_events", year=year, day=day, database=cfg.database), err=True)
        return
    click.echo(t("cli.rollup_done", path=out, year=year, day=day, total=evaluation.fmt_score(ev.totals.total),
                 grade=ev.totals.grade))

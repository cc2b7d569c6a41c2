"""The `fieldlog` command line for the station's administrator."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import click

from fieldlog import accounts, config as config_mod, db as db_mod
from fieldlog.errors import InvalidInput


def _cfg(**overrides) -> config_mod.Config:
    return config_mod.load(**overrides)


def _db(cfg: config_mod.Config | None = None):
    cfg = cfg or _cfg()
    return db_mod.open_db(cfg.database)


def _fail(exc: InvalidInput) -> None:
    for field, message in exc.errors.items():
        click.echo(f"错误：{field}：{message}", err=True)
    sys.exit(1)


@click.group()
@click.version_option(package_name="fieldlog")
def main() -> None:
    """fieldlog：建设工程质量安全监督站现场检查记录 (field inspection logger)."""


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
            click.echo("正在生成演示数据库…")
            _build_demo(cfg.database)
        _print_logins()
        from datetime import datetime

        from fieldlog import demo as demo_mod

        cfg.demo_today = demo_mod.demo_today(datetime.now(cfg.tz).date())
        click.echo(f"演示数据为 {demo_mod.DEMO_YEAR} 年，看板按 {cfg.demo_today} 显示；新记录按实际时间保存。")
    click.echo(f"fieldlog 已启动：http://{cfg.host}:{cfg.port}/  数据库：{cfg.database}")
    uvicorn.run(create_app(cfg), host=cfg.host, port=cfg.port, proxy_headers=True, log_level="info")


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

    click.echo("演示账号（密码均为 %s）：" % demo_mod.DEMO_PASSWORD)
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
    click.echo(f"演示数据库已生成：{out}")
    _print_logins()


@main.command()
def migrate() -> None:
    """Apply pending database migrations (also done at every start)."""
    cfg = _cfg()
    db = db_mod.connect(cfg.database)
    applied = db_mod.migrate(db)
    click.echo("已应用：" + "、".join(applied) if applied else "数据库已是最新")


@main.group()
def user() -> None:
    """Manage user accounts."""


@user.command("add")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="Display name (姓名).")
@click.option("--role", type=click.Choice(list(accounts.ROLES)), required=True, help="inspector, chief or admin.")
@click.password_option(help="Password (at least 10 characters); prompted when not given.")
def user_add(username: str, display_name: str, role: str, password: str) -> None:
    """Create a user."""
    try:
        accounts.create_user(_db(), username, display_name, role, password)
    except InvalidInput as exc:
        _fail(exc)
    click.echo(f"已创建用户 {username}（{accounts.ROLES[role]}）")


@user.command("passwd")
@click.argument("username")
@click.password_option(help="New password (at least 10 characters).")
def user_passwd(username: str, password: str) -> None:
    """Set a user's password (ends the user's sessions)."""
    try:
        accounts.set_password(_db(), username, password)
    except InvalidInput as exc:
        _fail(exc)
    click.echo(f"已更新 {username} 的密码")


@user.command("list")
def user_list() -> None:
    """List users."""
    for u in accounts.list_users(_db()):
        state = "" if u["active"] else "（已停用）"
        click.echo(f"{u['id']:>4}  {u['username']:<16} {accounts.ROLES[u['role']]:<4} {u['display_name']}{state}")


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
        click.echo("错误：没有这个有效令牌", err=True)
        sys.exit(1)
    click.echo(f"已吊销令牌 {token_id}")


@token.command("list")
def token_list() -> None:
    """List tokens (never their secret)."""
    for t in accounts.list_tokens(_db()):
        state = f"已吊销 {t['revoked_at']}" if t["revoked_at"] else "有效"
        click.echo(f"{t['id']:>4}  {t['username']:<16} {t['name']:<16} {t['created_at']}  {state}")


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--media/--no-media", default=True, show_default=True,
              help="Also copy the photo files into PATH-media/ (photos live on disk, not in the database).")
def backup(path: Path, media: bool) -> None:
    """Copy the database to PATH with SQLite's online backup API (safe while the server runs), and the photos."""
    import shutil

    cfg = _cfg()
    if path.exists():
        click.echo(f"错误：{path} 已存在", err=True)
        sys.exit(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(str(cfg.database))
    dst = sqlite3.connect(str(path))
    with dst:
        src.backup(dst)
    dst.close()
    src.close()
    click.echo(f"已备份数据库到 {path}")
    if media and cfg.media_dir.is_dir():
        # Photo files are written once under server-chosen names and never changed, so a plain copy is consistent.
        target = Path(f"{path}-media")
        shutil.copytree(cfg.media_dir, target, dirs_exist_ok=True)
        click.echo(f"已备份照片到 {target}")


def _import(path: Path, kind: str, dry_run: bool) -> None:
    from fieldlog import importer

    db = _db()
    parsed = importer.preview(db, path.name, path.read_bytes(), kind)
    if parsed.error:
        click.echo(f"错误：文件未导入：{parsed.error}", err=True)
        sys.exit(1)
    if parsed.ignored_columns:
        click.echo("已忽略无法识别的列：" + "、".join(parsed.ignored_columns))
    if not dry_run:
        importer.apply_import(db, parsed, actor=None)
    for row in parsed.rows:
        if row.errors:
            problems = "；".join(f"{importer.field_label(kind, f)}：{m}" for f, m in row.errors.items())
            click.echo(f"第 {row.number} 行 跳过 {row.label}：{problems}")
        else:
            click.echo(f"第 {row.number} 行 {'可导入' if dry_run else '已导入'} {row.label}")
    if dry_run:
        click.echo(f"预检完成（未写入）：{len(parsed.accepted)} 行可导入，{len(parsed.rejected)} 行有问题")
    else:
        click.echo(f"导入完成：已写入 {parsed.written} 行，跳过 {len(parsed.rejected)} 行")


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
    click.echo(f"已导入 {loaded.year} 年目标表（{loaded.station}，{len(loaded.rows)} 项指标）")


@table.command("show")
@click.argument("year", type=int)
def table_show(year: int) -> None:
    """Print YEAR's table: levels, target text, parsed target and rule of every row."""
    from fieldlog.indicators import tables

    t = tables.table_for_year(_db(), year)
    origin = {"loaded": "已导入", "shipped": "随程序提供", "inherited": f"沿用 {t.inherited_from} 年目标表"}[t.origin]
    click.echo(f"{t.title}（{t.station}，{origin}）")
    for r in t.rows:
        parsed = "文字" if r.target.comparator == "text" else f"{r.target.comparator} {r.target.value:g}{r.target.unit}"
        click.echo(f"{r.number:>3}  {r.level1}/{r.level2}/{r.level3}  {r.target_text or '（空）'}  [{parsed}]  "
                   f"{r.rule}{'' if r.points is None else f'  分值 {r.points:g}'}")


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
        click.echo("错误：--as-of 须为日期，格式 YYYY-MM-DD", err=True)
        sys.exit(1)
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv", ".json"):
        click.echo("错误：--out 的文件须以 .xlsx、.csv 或 .json 结尾", err=True)
        sys.exit(1)
    ev = evaluation.build(_db(cfg), year, day, cfg.tz)
    if suffix == ".json":
        out.write_text(json.dumps(with_evidence_urls(evaluation.to_json(ev)), ensure_ascii=False, indent=2),
                       encoding="utf-8")
    else:
        out.write_bytes(evaluation.to_csv(ev) if suffix == ".csv" else evaluation.to_xlsx(ev))
    click.echo(f"已写出 {out}（{year} 年，截至 {day}，总分 {evaluation.fmt_score(ev.totals.total)}，{ev.totals.grade}）")

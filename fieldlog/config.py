"""Settings, declared once: each with an environment variable, a default and a line of help."""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

from fieldlog.messages import t

# (attribute, environment variable, default, help). The README table is generated from this list.
SETTINGS = [
    ("data_dir", "FIELDLOG_DATA_DIR", "./fieldlog-data", "Folder for the database, media and secret key when no other path is given"),
    ("database", "FIELDLOG_DATABASE", "", "SQLite database file (default: DATA_DIR/fieldlog.db)"),
    ("media_dir", "FIELDLOG_MEDIA_DIR", "", "Folder for stored photos (default: DATA_DIR/media)"),
    ("host", "FIELDLOG_HOST", "127.0.0.1", "Address `fieldlog serve` listens on"),
    ("port", "FIELDLOG_PORT", "8000", "Port `fieldlog serve` listens on"),
    ("timezone", "FIELDLOG_TIMEZONE", "Asia/Shanghai", "Station time zone: periods (months, quarters) are cut in it"),
    ("secret_key", "FIELDLOG_SECRET_KEY", "", "Key that signs cookies; generated once and kept in DATA_DIR/secret.key when empty"),
    ("https", "FIELDLOG_HTTPS", "auto", "Mark cookies Secure: 'auto' (when the request came over HTTPS), 'on' or 'off'"),
    ("station", "FIELDLOG_STATION", "衡东县建设工程质量安全监督站", "Station name printed on pages and reports"),  # zh: data
    ("trusted_proxies", "FIELDLOG_TRUSTED_PROXIES", "",
     "Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated IPs or CIDRs); empty: none"),
    ("backup_dir", "FIELDLOG_BACKUP_DIR", "",
     "Folder of the timestamped backups `fieldlog backup` writes and `fieldlog check` looks at (default: DATA_DIR/backups)"),
    ("draw_exclude_responsible", "FIELDLOG_DRAW_EXCLUDE_RESPONSIBLE", "on",
     "双随机 draws never send a site's own responsible inspector: 'on' or 'off' (the chief may change it per draw)"),
]


@dataclass
class Config:
    """Resolved settings of one fieldlog instance."""

    data_dir: Path
    database: Path
    media_dir: Path
    host: str
    port: int
    timezone: str
    secret_key: str
    https: str
    station: str
    # Addresses (IPs or networks) of the reverse proxies whose forwarded headers are believed; empty: none.
    trusted_proxies: tuple[str, ...] = ()
    draw_exclude_responsible: bool = True
    demo: bool = False
    extra: dict = field(default_factory=dict)
    # The app's clock: every request reads "now" from here (tests pass a fixed one).
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc), repr=False)
    # Timestamped backups (`fieldlog backup`, `fieldlog check`); empty: DATA_DIR/backups.
    backup_dir: Path | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load(env: dict | None = None, **overrides) -> Config:
    """Read settings from the environment (or `env`), apply overrides, fill derived paths and the secret."""
    env = os.environ if env is None else env
    raw = {attr: env.get(var, default) for attr, var, default, _ in SETTINGS}
    raw.update({k: v for k, v in overrides.items() if v is not None and k in raw})
    data_dir = Path(raw["data_dir"]).expanduser()
    database = Path(raw["database"]).expanduser() if raw["database"] else data_dir / "fieldlog.db"
    media_dir = Path(raw["media_dir"]).expanduser() if raw["media_dir"] else data_dir / "media"
    ZoneInfo(raw["timezone"])  # fail early on an unknown zone
    cfg = Config(
        data_dir=data_dir,
        database=database,
        media_dir=media_dir,
        host=raw["host"],
        port=int(raw["port"]),
        timezone=raw["timezone"],
        secret_key=raw["secret_key"],
        https=raw["https"],
        station=raw["station"],
        trusted_proxies=parse_proxies(raw["trusted_proxies"]),
        draw_exclude_responsible=str(raw["draw_exclude_responsible"]).strip().lower() not in ("off", "0", "false", "no"),
        demo=bool(overrides.get("demo", False)),
        backup_dir=Path(raw["backup_dir"]).expanduser() if raw["backup_dir"] else data_dir / "backups",
    )
    if not cfg.secret_key:
        cfg.secret_key = _kept_secret(database.parent / "secret.key")
    return cfg


def parse_proxies(text: str) -> tuple[str, ...]:
    """FIELDLOG_TRUSTED_PROXIES as normalized networks ('10.0.0.5' -> '10.0.0.5/32'); ValueError on anything else.

    A mistyped entry must stop the start, not silently trust nothing (or something else).
    """
    out = []
    for item in (part.strip() for part in str(text or "").split(",")):
        if not item:
            continue
        try:
            out.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ValueError(t("cli.trusted_proxy_invalid", item=item)) from None
    return tuple(out)


def _kept_secret(path: Path) -> str:
    """Return the secret stored at `path`, creating it (mode 600) on first run."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key

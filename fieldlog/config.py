"""Settings, declared once: each with an environment variable, a default and a line of help."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit
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
    ("public_url", "FIELDLOG_PUBLIC_URL", "",
     "Address the public and the phones reach fieldlog at, e.g. https://jdz.example.gov.cn: every absolute link "
     "(survey QR codes, printed sheets) starts with it, never with the request's Host"),
    ("backup_dir", "FIELDLOG_BACKUP_DIR", "",
     "Folder of the timestamped backups `fieldlog backup` writes and `fieldlog check` looks at (default: DATA_DIR/backups)"),
    ("draw_exclude_responsible", "FIELDLOG_DRAW_EXCLUDE_RESPONSIBLE", "on",
     "双随机 draws never send a site's own responsible inspector: 'on' or 'off' (the chief may change it per draw)"),
    ("notice_number", "FIELDLOG_NOTICE_NUMBER", "衡建质安〔{year}〕{word}字第{seq:03d}号",
     "Pattern of the station's notice numbers: {year} the notice's year, {seq} its number in the year (one "
     "sequence for every kind), {word} the kind's word (整, 局停, 停, 复)"),
    ("hazard_criteria", "FIELDLOG_HAZARD_CRITERIA", "",
     "A station's own 重大事故隐患 criteria (TOML, the layout of fieldlog/criteria/hazard-criteria-2022.toml), "
     "added to the shipped ones; empty: the shipped ones only"),
    ("readers", "FIELDLOG_READERS", "1",
     "Reader processes `fieldlog serve` starts for the chief's heavy pages (the indicators, the monthly report, "
     "coverage), so that they never slow the phones' submissions: 0 to 8; 0 answers everything in one process"),
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
    # FIELDLOG_PUBLIC_URL normalized ("https://host[:port]", no trailing slash); empty: not set.
    public_url: str = ""
    demo: bool = False
    extra: dict = field(default_factory=dict)
    # The app's clock: every request reads "now" from here (tests pass a fixed one).
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc), repr=False)
    # Timestamped backups (`fieldlog backup`, `fieldlog check`); empty: DATA_DIR/backups.
    backup_dir: Path | None = None
    # Notices (issue 14): the number pattern (checked here) and a station's extra hazard criteria file.
    notice_number: str = ""
    hazard_criteria: Path | None = None
    # Reader processes of `fieldlog serve` (fieldlog/readers.py); 0: one process answers everything.
    readers: int = 0

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def link_base(self) -> str:
        """What every absolute link starts with: the public address, else the address `fieldlog serve` listens on.

        Never the request's Host header: a code printed from a laptop at 127.0.0.1 must not carry that address
        unnoticed (pages warn while public_url_problem() says so)."""
        if self.public_url:
            return self.public_url
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else "::1" if self.host == "::" else self.host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"


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
        public_url=parse_public_url(raw["public_url"]),
        demo=bool(overrides.get("demo", False)),
        backup_dir=Path(raw["backup_dir"]).expanduser() if raw["backup_dir"] else data_dir / "backups",
        notice_number=raw["notice_number"],
        hazard_criteria=Path(raw["hazard_criteria"]).expanduser() if raw["hazard_criteria"] else None,
        readers=parse_readers(raw["readers"]),
    )
    from fieldlog.notices import pattern_problem  # notices import the events, which need no settings

    problem = pattern_problem(cfg.notice_number)
    if problem:
        raise ValueError(problem)
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


def parse_readers(text) -> int:
    """FIELDLOG_READERS as a number of processes, 0 to readers.MAX_READERS; ValueError (in Chinese) otherwise."""
    from fieldlog.readers import MAX_READERS

    value = str(text).strip()
    if not re.fullmatch(r"[0-9]{1,3}", value) or int(value) > MAX_READERS:
        raise ValueError(t("config.readers_invalid", value=value, most=MAX_READERS))
    return int(value)


def parse_public_url(text: str) -> str:
    """FIELDLOG_PUBLIC_URL as "scheme://host[:port]" (trailing slash dropped); "" when unset; ValueError otherwise.

    The app serves from the root of its address (/sw.js, /static), so a path is refused, like anything that
    is not an http(s) address: a mistyped address must stop the start, not end up in printed codes."""
    text = str(text or "").strip().rstrip("/")
    if not text:
        return ""
    try:
        parts = urlsplit(text)
        valid = (parts.port is None or parts.port > 0) and parts.scheme.lower() in ("http", "https")
        valid = valid and bool(parts.hostname) and not (parts.path or parts.query or parts.fragment or "@" in parts.netloc)
    except ValueError:  # a port that is not a number, a broken IPv6 literal
        valid = False
    if not valid:
        raise ValueError(t("config.public_url_invalid", value=text))
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


LAN_SUFFIXES = (".local", ".lan", ".internal", ".home.arpa", ".intranet", ".corp")


def public_url_problem(url: str) -> str | None:
    """Why the public may not reach links made with `url` (a normalized public_url): "unset", "loopback"
    (only this computer), "lan" (only the station's own network), or None when it looks publicly reachable."""
    if not url:
        return "unset"
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return "loopback"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "lan" if "." not in host or host.endswith(LAN_SUFFIXES) else None
    if address.is_loopback or address.is_unspecified:
        return "loopback"
    return "lan" if address.is_private or address.is_link_local else None


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

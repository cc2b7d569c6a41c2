"""Locate templates, static files and migrations both in a source checkout and in an installed wheel."""

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Folder `name` (templates, static, migrations): inside the package when installed, else the repo root."""
    inside = _PKG / name
    return inside if inside.is_dir() else _PKG.parent / name

"""The message catalogue: every key the code asks for exists, and user text lives only in the catalogue."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from fieldlog import messages

PACKAGE = Path(messages.__file__).parent
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
# Seed data, not messages: the demo's registry and the default station name are content a station replaces.
DATA_MODULES = {"messages.py", "demo.py", "demo_events.py", "config.py"}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py"))


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings (English prose that may name a Chinese term)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                out.add(id(first.value))
    return out


# A line that holds Chinese as data rather than as a message (a parsing token, a stored value) says so.
DATA_MARK = "# zh: data"


def chinese_literals(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every string literal with Chinese characters that is not a docstring or marked data."""
    source = path.read_text(encoding="utf-8")
    lines, tree = source.splitlines(), ast.parse(source)
    skip = _docstrings(tree)
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
            and CJK.search(node.value)
            and not any(DATA_MARK in lines[n - 1] for n in range(node.lineno, (node.end_lineno or node.lineno) + 1))]


def used_keys(path: Path) -> list[tuple[int, str]]:
    """(line, key) of every t("literal") call."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [(node.lineno, node.args[0].value) for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "t"
            and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)]


@pytest.mark.parametrize("path", [p for p in _modules() if p.name not in DATA_MODULES],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_user_text_outside_the_catalogue(path):
    found = chinese_literals(path)
    assert not found, "Chinese text belongs in fieldlog/messages.py: " + "; ".join(f"{path.name}:{n} {s!r}" for n, s in found[:10])


def test_every_key_the_code_asks_for_exists():
    missing = [f"{p.name}:{n} {k}" for p in _modules() for n, k in used_keys(p) if k not in messages.MESSAGES]
    assert not missing, missing


def test_every_template_key_exists():
    templates = PACKAGE.parent / "templates"
    keys = {k for f in templates.glob("*.html") for k in re.findall(r"""\bt\(['"]([\w.]+)['"]""", f.read_text(encoding="utf-8"))}
    assert keys <= set(messages.MESSAGES), sorted(keys - set(messages.MESSAGES))


def test_keys_are_english_and_placeholders_are_named():
    for key, text in messages.MESSAGES.items():
        assert re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)+", key), key
        names = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
        assert all(n.isidentifier() for n in names), (key, names)


def test_t_fills_placeholders_and_label_falls_back():
    messages.MESSAGES["test.sample"] = "共 {n} 条"
    try:
        assert messages.t("test.sample", n=3) == "共 3 条"
    finally:
        del messages.MESSAGES["test.sample"]
    assert messages.label("role", "chief") == "站长"
    assert messages.label("role", "nobody") == "nobody"


# --- the phone's scripts: their texts come from the catalogue ("phone.<script>.*"), carried by the page ----------

PHONE_SCRIPTS = ("queue.js", "log.js", "sw.js", "checks.js")
STATIC = PACKAGE.parent / "static"


def _without_comments(source: str) -> str:
    return re.sub(r"(?m)^\s*//.*$|(?<=[;{}),])\s*//.*$", "", source)


@pytest.mark.parametrize("name", PHONE_SCRIPTS)
def test_phone_scripts_hold_no_user_text(name):
    found = [line for line in _without_comments((STATIC / name).read_text(encoding="utf-8")).splitlines() if CJK.search(line)]
    assert not found, f"{name}: Chinese text belongs in fieldlog/messages.py (phone.*): {found[:5]}"


def test_every_text_a_phone_script_asks_for_exists():
    asked = {key for name in PHONE_SCRIPTS
             for key in re.findall(r"""["']((?:log|queue)\.[a-z_]+)["']""", (STATIC / name).read_text(encoding="utf-8"))}
    # Keys built from a state: "log.state_" + r.state
    asked = (asked - {"log.state_"}) | {f"log.state_{s}" for s in ("pending", "needs_action", "auth")}
    assert asked and {f"phone.{k}" for k in asked} <= set(messages.MESSAGES), sorted(
        k for k in asked if f"phone.{k}" not in messages.MESSAGES)


def test_no_key_of_the_catalogue_is_written_twice():
    """A dict literal keeps the last of two equal keys without a word: two areas each adding a `rule` group, or the
    same message key, would silently lose one of them (a merge did so once)."""
    tree = ast.parse(Path(messages.__file__).read_text(encoding="utf-8"))
    twice = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            twice += sorted({k for k in keys if keys.count(k) > 1})
    assert twice == []

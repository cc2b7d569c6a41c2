"""Administrator pages: users, audit log, tokens; admin only."""

from __future__ import annotations

import ast
from datetime import datetime, timezone
from pathlib import Path

import pytest

import fieldlog
from fieldlog import accounts, surveys
from fieldlog.db import scalar
from fieldlog.messages import LABELS
from tests.conftest import PASSWORD, Client, login


@pytest.mark.parametrize("path", ["/admin/users", "/admin/audit", "/admin/tokens"])
@pytest.mark.parametrize("username", ["alice", "carol"])
def test_admin_pages_refuse_other_roles(client_for, users, path, username):
    assert client_for(username).get(path).status_code == 403


def test_non_admin_cannot_post(client_for, db, users):
    client = client_for("carol")
    response = client.post_form("/admin/users", {"username": "eve", "display_name": "伊芙", "role": "admin",
                                                 "password": PASSWORD})
    assert response.status_code == 403
    assert client.post_form(f"/admin/users/{users['alice']}/active", {"active": "0"}).status_code == 403
    assert client.post_form(f"/admin/users/{users['alice']}/password", {"password": "x" * 12}).status_code == 403
    assert accounts.get_user_by_name(db, "eve") is None
    assert accounts.get_user(db, users["alice"])["active"] == 1


def test_admin_lists_and_adds_a_user(client_for, db, users):
    client = client_for("dave")
    html = client.get("/admin/users").text
    assert "艾丽丝" in html and "卡罗尔" in html and "站长" in html
    response = client.post_form("/admin/users", {"username": "eve", "display_name": "伊芙", "role": "inspector",
                                                 "password": "long-enough-pw"}, follow_redirects=False)
    assert response.status_code == 303
    assert accounts.get_user_by_name(db, "eve")["role"] == "inspector"
    assert "已创建用户" in client.get(response.headers["location"]).text
    assert scalar(db, "SELECT count(*) FROM audit_log WHERE action = 'user_created' AND target = 'user:eve'") == 1


def test_add_user_errors_are_shown(client_for, db, users):
    client = client_for("dave")
    response = client.post_form("/admin/users", {"username": "alice", "display_name": "重名", "role": "inspector",
                                                 "password": "long-enough-pw"})
    assert response.status_code == 422 and "用户名已存在" in response.text
    response = client.post_form("/admin/users", {"username": "x y", "display_name": "", "role": "boss", "password": "short"})
    assert response.status_code == 422
    for message in ["用户名须为", "请填写姓名", "角色须为", "密码至少 10 位"]:
        assert message in response.text
    assert scalar(db, "SELECT count(*) FROM users") == 4


def test_reset_password_ends_sessions(client_for, app, db, users):
    alice = client_for("alice")
    admin = client_for("dave")
    response = admin.post_form(f"/admin/users/{users['alice']}/password", {"password": "brand-new-password"},
                               follow_redirects=False)
    assert response.status_code == 303
    assert alice.get("/", follow_redirects=False).status_code == 303  # signed out
    fresh = Client(app, base_url="http://testserver")
    assert login(fresh, "alice", "brand-new-password").status_code == 303
    short = admin.post_form(f"/admin/users/{users['bob']}/password", {"password": "short"})
    assert short.status_code == 422 and "密码至少 10 位" in short.text


def test_deactivate_and_reactivate(client_for, app, db, users):
    bob = client_for("bob")
    admin = client_for("dave")
    assert admin.post_form(f"/admin/users/{users['bob']}/active", {"active": "0"}, follow_redirects=False).status_code == 303
    assert accounts.get_user(db, users["bob"])["active"] == 0
    assert bob.get("/", follow_redirects=False).status_code == 303
    fresh = Client(app, base_url="http://testserver")
    assert login(fresh, "bob").status_code != 303
    assert "已停用" in admin.get("/admin/users").text
    admin.post_form(f"/admin/users/{users['bob']}/active", {"active": "1"})
    assert login(fresh, "bob").status_code == 303
    actions = [r["action"] for r in db.query("SELECT action FROM audit_log WHERE target = 'user:bob' ORDER BY id")]
    assert actions[-2:] == ["user_deactivated", "user_activated"] or "user_activated" in actions


def test_admin_cannot_deactivate_self(client_for, db, users):
    response = client_for("dave").post_form(f"/admin/users/{users['dave']}/active", {"active": "0"})
    assert response.status_code == 422 and "不能停用自己的账号" in response.text
    assert accounts.get_user(db, users["dave"])["active"] == 1


def test_audit_page_shows_recent_lines(client_for, users):
    client = client_for("dave")
    html = client.get("/admin/audit").text
    assert "登录" in html and "dave" in html


def recorded_actions() -> set[str]:
    """Every action an `audit.record(db, action, ...)` call in fieldlog can write (a literal, or a choice of two)."""
    actions = set()
    for path in Path(fieldlog.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "record"
                    and getattr(node.func.value, "id", None) == "audit"):
                continue
            arg = node.args[1]
            for choice in ([arg.body, arg.orelse] if isinstance(arg, ast.IfExp) else [arg]):
                assert isinstance(choice, ast.Constant) and isinstance(choice.value, str), \
                    f"{path.name}:{node.lineno}: write the audit action as a literal so that its label can be checked"
                actions.add(choice.value)
    return actions


def test_every_action_the_code_records_has_a_label():
    actions = recorded_actions()
    assert {"login", "site_created", "plants_imported", "user_deactivated", "budget_saved"} <= actions  # the scan works
    assert sorted(actions - set(LABELS["audit_action"])) == []


def test_audit_page_names_actions_from_the_catalogue(client_for, db, users):
    carol = dict(next(db.query("SELECT * FROM users WHERE id = ?", [users["carol"]])))
    code_id = surveys.create_code(db, "awareness_survey", user=carol, now=datetime(2021, 6, 1, tzinfo=timezone.utc))
    surveys.close_code(db, code_id, user=carol, now=datetime(2021, 6, 2, tzinfo=timezone.utc))
    html = client_for("dave").get("/admin/audit").text
    assert "新建问卷二维码" in html and "结束问卷" in html and "登录" in html
    assert "survey_code_create" not in html and "survey_code_close" not in html


def test_audit_page_names_targets_and_details_in_chinese(client_for, db, users):
    carol = dict(next(db.query("SELECT * FROM users WHERE id = ?", [users["carol"]])))
    surveys.create_code(db, "satisfaction_survey", user=carol, now=datetime(2021, 6, 1, tzinfo=timezone.utc))
    admin = client_for("dave")
    assert admin.post_form("/admin/users", {"username": "eve", "display_name": "伊芙", "role": "chief",
                                            "password": PASSWORD}).status_code in (200, 303)
    html = admin.get("/admin/audit").text
    assert "对象：</span>问卷二维码 1" in html and "类型：满意度" in html
    assert "对象：</span>用户 eve" in html and "角色：站长" in html
    assert "survey_code:" not in html and "user:" not in html and "role=" not in html and "kind=" not in html


def test_roles_are_english_values_named_by_the_catalogue(client_for, db, users):
    assert list(accounts.ROLES) == list(LABELS["role"]) == ["inspector", "chief", "admin"]
    assert accounts.validate_user("eve", "伊芙", "监督员", None) == {"role": "角色须为 监督员、站长 或 管理员"}
    html = client_for("dave").get("/admin/users").text
    assert '<option value="chief" >站长</option>' in html and '<span class="badge">管理员</span>' in html


def test_tokens_list_and_revoke(client_for, app, db, users):
    token = accounts.create_token(db, "alice", "手机同步")
    token_id = scalar(db, "SELECT id FROM api_tokens")
    api = Client(app, base_url="http://testserver")
    assert api.get("/", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    admin = client_for("dave")
    html = admin.get("/admin/tokens").text
    assert "手机同步" in html and token not in html
    response = admin.post_form(f"/admin/tokens/{token_id}/revoke", {}, follow_redirects=False)
    assert response.status_code == 303
    assert "已吊销" in admin.get("/admin/tokens").text
    assert api.get("/api/v1/sites", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert admin.post_form(f"/admin/tokens/{token_id}/revoke", {}).status_code == 404


def test_audit_page_shows_a_refused_request_whose_target_is_a_path(client_for, users):
    client_for("alice").get("/admin/users")  # refused: recorded with the page's path as its target
    response = client_for("dave").get("/admin/audit")
    assert response.status_code == 200 and "/admin/users" in response.text and "越权访问被拒绝" in response.text

from tests.conftest import login


def test_login_then_home_shows_name(client_for):
    client = client_for("alice")
    assert "艾丽丝" in client.get("/").text

"""Settings: defaults, environment variables and the kept secret."""

from fieldlog import config


def test_defaults_and_derived_paths(tmp_path):
    cfg = config.load(env={"FIELDLOG_DATA_DIR": str(tmp_path)})
    assert cfg.database == tmp_path / "fieldlog.db" and cfg.media_dir == tmp_path / "media"
    assert (cfg.host, cfg.port, cfg.timezone) == ("127.0.0.1", 8000, "Asia/Shanghai")


def test_secret_is_generated_once_and_kept(tmp_path):
    env = {"FIELDLOG_DATA_DIR": str(tmp_path)}
    first = config.load(env=env).secret_key
    assert len(first) > 40
    assert config.load(env=env).secret_key == first
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    assert config.load(env={**env, "FIELDLOG_SECRET_KEY": "given"}).secret_key == "given"


def test_every_setting_has_a_variable_default_and_help():
    for attr, var, default, help_text in config.SETTINGS:
        assert var.startswith("FIELDLOG_") and help_text and default is not None


def test_readme_lists_every_setting():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for _, var, _, _ in config.SETTINGS:
        assert f"`{var}`" in readme, f"{var} missing from the README"


def test_static_files_and_pages_are_sent_gzipped(client_for):
    client = client_for("alice")
    response = client.get("/static/htmx-2.0.11.min.js", headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("content-encoding") == "gzip"
    assert int(response.headers["content-length"]) < 25_000  # 52 KB raw
    assert client.get("/", headers={"Accept-Encoding": "gzip"}).headers.get("content-encoding") == "gzip"

"""Settings: one parser for yes/no and whole-number values, one default site name;
a bad value stops the app at start with a message naming the variable."""

from __future__ import annotations

import pytest

from directory.config import DEFAULT_SITE_NAME, load_config


def _config(tmp_path, **settings):
    return load_config(tmp_path, SECRET_KEY="x", TESTING=True, **settings)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), (" Yes ", True), ("ON", True), ("0", False), ("false", False), ("", True)],
)
def test_yes_no_settings_read_the_same_everywhere(tmp_path, value, expected):
    config = _config(tmp_path, DEMO_DATA=value, MAIL_SMTP_STARTTLS=value)
    assert config["DEMO_DATA"] is expected and config["MAIL_SMTP_STARTTLS"] is expected


def test_a_bool_override_is_kept(tmp_path):
    assert _config(tmp_path, DEMO_DATA=False)["DEMO_DATA"] is False


@pytest.mark.parametrize("name", ["DEMO_DATA", "MAIL_SMTP_STARTTLS"])
def test_a_mistyped_yes_no_setting_is_refused(tmp_path, name):
    with pytest.raises(ValueError, match=name):
        _config(tmp_path, **{name: "flase"})


def test_a_mistyped_secure_cookies_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SECURE_COOKIES", "nope")
    with pytest.raises(ValueError, match="SECURE_COOKIES"):
        _config(tmp_path)


def test_the_smtp_port_is_a_number_from_the_start(tmp_path, monkeypatch):
    monkeypatch.delenv("MAIL_SMTP_PORT", raising=False)
    assert _config(tmp_path)["MAIL_SMTP_PORT"] == 587
    assert _config(tmp_path, MAIL_SMTP_PORT=" 465 ")["MAIL_SMTP_PORT"] == 465
    for bad in ("0", "70000", "25a", "²"):
        with pytest.raises(ValueError, match="MAIL_SMTP_PORT"):
            _config(tmp_path, MAIL_SMTP_PORT=bad)


def test_the_site_name_has_one_default_and_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("SITE_NAME", raising=False)
    assert _config(tmp_path)["SITE_NAME"] == DEFAULT_SITE_NAME
    assert _config(tmp_path, SITE_NAME="  ")["SITE_NAME"] == DEFAULT_SITE_NAME
    assert _config(tmp_path, SITE_NAME=" Dir ")["SITE_NAME"] == "Dir"
    with pytest.raises(ValueError, match="SITE_NAME"):
        _config(tmp_path, SITE_NAME="Dir\nBcc: someone@example.com")

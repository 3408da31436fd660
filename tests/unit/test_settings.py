"""Settings: defaults, parsing, and root's data directory."""
import os

import pytest

from taler_inventory import config


def test_defaults_without_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    settings = config.from_env({})
    assert {k: v for k, v in settings.items() if k != "DATA_DIR"} == \
        {k: v for k, v in config.DEFAULTS.items() if k != "DATA_DIR"}


def test_values_are_parsed_by_kind():
    settings = config.from_env({"TALER_INVENTORY_POOL_MAX_SIZE": "12",
                                "TALER_INVENTORY_POOL_TIMEOUT": "2.5",
                                "TALER_INVENTORY_ACCESS_LOG": "Yes",
                                "TALER_INVENTORY_LOG_LEVEL": "DEBUG",
                                "TALER_INVENTORY_DATA_DIR": "/srv/x"})
    assert settings["POOL_MAX_SIZE"] == 12 and settings["POOL_TIMEOUT"] == 2.5
    assert settings["ACCESS_LOG"] is True and settings["LOG_LEVEL"] == "debug"
    assert settings["DATA_DIR"] == "/srv/x"


def test_pool_minimum_above_maximum_is_a_setup_error():
    with pytest.raises(config.SetupError, match="POOL_MIN_SIZE .* is above"):
        config.from_env({"TALER_INVENTORY_POOL_MIN_SIZE": "9",
                         "TALER_INVENTORY_POOL_MAX_SIZE": "8"})


@pytest.mark.skipif(os.geteuid() != 0, reason="root's default")
def test_root_keeps_its_data_out_of_root_unless_it_is_there_already(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert config.default_data_dir() == "/var/lib/taler-inventory"
    (tmp_path / "taler-inventory" / "pgdata").mkdir(parents=True)
    assert config.default_data_dir() == str(tmp_path / "taler-inventory")


def test_metrics_networks():
    assert config.metrics_networks("any") is None
    nets = config.metrics_networks("127.0.0.0/8, ::1,10.1.2.3")
    assert [str(n) for n in nets] == ["127.0.0.0/8", "::1/128", "10.1.2.3/32"]

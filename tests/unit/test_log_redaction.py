"""Tokens and citizen identity numbers are blanked in every log line the server prints."""

from __future__ import annotations

import logging

from adapters.api.server import Redact, log_config


def _record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("t", logging.INFO, __file__, 1, message, args, None)


def test_tokens_and_identity_numbers_are_blanked() -> None:
    token = "lt_0123456789ab_Zm9vYmFyLWJhei1xdXV4LXNlY3JldA"
    record = _record("auth %s for %s and %s", token, "001099012345", "012345678")
    assert Redact().filter(record)
    assert record.getMessage() == "auth [redacted] for [redacted] and [redacted]"


def test_other_numbers_and_dossier_codes_stay() -> None:
    record = _record("dossier %s took %d ms", "000.00.71.H26-261126-0001", 12345)
    Redact().filter(record)
    assert record.getMessage() == "dossier 000.00.71.H26-261126-0001 took 12345 ms"


def test_every_handler_of_the_server_redacts() -> None:
    config = log_config()
    assert all(h["filters"] == ["redact"] for h in config["handlers"].values())
    assert config["loggers"][""]["handlers"] == ["default"]


def test_http_clients_do_not_print_the_urls_they_call() -> None:
    # an alert hook's URL may hold the receiver's secret: httpx logs each request at INFO
    loggers = log_config()["loggers"]
    assert loggers["httpx"]["level"] == loggers["httpcore"]["level"] == "WARNING"
    assert loggers[""]["level"] == "INFO"  # our own lines still print

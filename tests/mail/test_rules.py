"""Outgoing email rules without a database or a server: the backoff schedule, giving up, and
what the envelope says."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given, strategies as st

from portal.mail import rules

NOW = dt.datetime(2025, 3, 14, 12, 0, tzinfo=dt.UTC)


def test_the_first_retries_come_quickly_then_further_apart():
    delays = [rules.retry_delay(n) for n in range(1, 8)]
    assert delays[:5] == [dt.timedelta(minutes=m) for m in (1, 5, 15, 60, 240)]
    assert all(a < b for a, b in itertools.pairwise(delays[:6]))
    assert delays[6] == delays[5]  # the last step repeats: a long outage never grows the wait without bound


@given(st.integers(min_value=1, max_value=1000))
def test_the_wait_never_shrinks_and_stays_within_a_day(attempts):
    assert rules.retry_delay(attempts + 1) >= rules.retry_delay(attempts)
    assert dt.timedelta(minutes=1) <= rules.retry_delay(attempts) <= dt.timedelta(days=1)


@pytest.mark.parametrize("max_attempts", [1, 3, 6])
def test_a_message_is_given_up_after_the_set_number_of_attempts(max_attempts):
    outcomes = []
    attempts = 0
    for _ in range(max_attempts):
        outcome = rules.after_failure(attempts, max_attempts, NOW)
        outcomes.append(outcome.status)
        attempts = outcome.attempts
    assert outcomes == ["queued"] * (max_attempts - 1) + ["failed"]
    assert attempts == max_attempts
    assert not rules.gives_up(max_attempts - 1, max_attempts) and rules.gives_up(max_attempts, max_attempts)


def test_a_failed_attempt_waits_its_backoff_before_the_next():
    outcome = rules.after_failure(1, 6, NOW)
    assert (outcome.status, outcome.attempts, outcome.next_attempt_at) == ("queued", 2, NOW + dt.timedelta(minutes=5))


def test_errors_are_one_short_line():
    text = rules.short_error("SMTP 451:\n  try again\tlater " + "x" * 1000)
    assert "\n" not in text and text.startswith("SMTP 451: try again later x")
    assert len(text) == rules.MAX_ERROR_LENGTH


def test_the_sender_is_smtp_from_or_no_reply_at_the_portals_host():
    assert rules.sender_address("billing@firm.ro", "https://portal.firm.ro") == "billing@firm.ro"
    assert rules.sender_address("", "https://portal.firm.ro:8443/x") == "no-reply@portal.firm.ro"


def test_the_message_id_is_stable_per_key_and_differs_between_keys():
    first = rules.message_id_for("dunning-action-42", "https://portal.firm.ro")
    assert first == rules.message_id_for("dunning-action-42", "https://portal.firm.ro")
    assert first != rules.message_id_for("dunning-action-43", "https://portal.firm.ro")
    assert first.startswith("<dunning-action-42.") and first.endswith("@portal.firm.ro>")
    assert " " not in rules.message_id_for("odd key <with> spaces@", "http://127.0.0.1:8000")


@pytest.mark.parametrize("use_tls,port,mode", [(True, 587, "starttls"), (True, 25, "starttls"), (True, 465, "implicit"),
                                               (False, 465, "none"), (False, 25, "none")])
def test_tls_is_implicit_on_465_and_starttls_elsewhere(use_tls, port, mode):
    assert rules.tls_mode(use_tls, port) == mode


def test_an_unknown_filter_shows_everything():
    assert rules.outbox_filter("failed") == "failed"
    assert rules.outbox_filter("'; drop table") == "all"
    assert rules.OUTBOX_FILTERS["queued"][1] == ("queued", "sending")

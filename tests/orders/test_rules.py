"""The pipeline's stage rules and the production gate, as pure functions."""

from hypothesis import given, settings, strategies as st

from portal.orders import rules
from portal.orders.rules import Allowed, GateFacts, Refused, Stage

OPEN = GateFacts(spec_approved=True, paid_in_full=True)
CLOSED = GateFacts(spec_approved=True, paid_in_full=False)


def test_gate_needs_both_approval_and_full_payment():
    assert rules.gate_open(OPEN)
    assert not rules.gate_open(GateFacts(spec_approved=False, paid_in_full=True))
    assert not rules.gate_open(GateFacts(spec_approved=True, paid_in_full=False))
    assert not rules.gate_open(GateFacts(spec_approved=True, paid_in_full=True, on_credit_hold=True))
    assert rules.gate_missing(GateFacts(False, False)) == ["spec approval", "100%% prepayment"]


def test_staff_cannot_push_an_order_into_production_by_hand():
    decision = rules.decide_manual_move(Stage.SPEC_APPROVED, Stage.IN_PRODUCTION, CLOSED, is_admin=False)
    assert isinstance(decision, Refused) and "Only an admin" in decision.reason


def test_admin_override_needs_a_reason():
    assert isinstance(rules.decide_manual_move(Stage.SPEC_APPROVED, Stage.IN_PRODUCTION, CLOSED, is_admin=True), Refused)
    assert rules.decide_manual_move(
        Stage.SPEC_APPROVED, Stage.IN_PRODUCTION, CLOSED, is_admin=True, reason="Strategic client, CFO approved"
    ) == Allowed(Stage.IN_PRODUCTION)


def test_spec_sent_and_approved_only_through_their_actions():
    assert isinstance(rules.decide_manual_move(Stage.LAYOUT, Stage.SPEC_SENT, CLOSED, is_admin=True), Refused)
    assert isinstance(rules.decide_manual_move(Stage.SPEC_SENT, Stage.SPEC_APPROVED, CLOSED, is_admin=True), Refused)
    assert isinstance(rules.decide_manual_move(Stage.CLOSED, Stage.REQUEST, CLOSED, is_admin=True), Refused)
    assert rules.decide_manual_move(Stage.REQUEST, Stage.LAYOUT, CLOSED, is_admin=False) == Allowed(Stage.LAYOUT)


def test_whichever_arrives_last_opens_the_gate():
    # approval first, payment later
    assert rules.after_facts_changed(Stage.SPEC_SENT, GateFacts(True, False)) is Stage.SPEC_APPROVED
    assert rules.after_facts_changed(Stage.SPEC_APPROVED, GateFacts(True, True)) is Stage.IN_PRODUCTION
    assert rules.after_facts_changed(Stage.AWAITING_PREPAYMENT, GateFacts(True, True)) is Stage.IN_PRODUCTION
    # payment first, approval later: straight into production
    assert rules.after_facts_changed(Stage.SPEC_SENT, GateFacts(False, True)) is None
    assert rules.after_facts_changed(Stage.SPEC_SENT, GateFacts(True, True)) is Stage.IN_PRODUCTION


def test_debt_free_clients_sort_first():
    import datetime as dt

    old = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    new = old + dt.timedelta(days=5)
    keys = sorted([rules.board_sort_key(True, old, 1), rules.board_sort_key(False, new, 2)])
    assert keys[0][0] is False


# --- random sequences of events: the gate never opens without both conditions -----------

EVENTS = st.sampled_from(["approve", "request_changes", "send_new_version", "pay_part", "pay_rest", "refund", "move", "hold", "release"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(EVENTS, st.sampled_from(list(Stage))), max_size=40), st.booleans())
def test_production_never_entered_without_approval_and_full_payment(events, admin):
    stage, approved, paid, hold = Stage.REQUEST, False, 0, False
    for event, target in events:
        if event == "approve" and stage is Stage.SPEC_SENT:
            approved = True
        elif event == "request_changes" and stage is Stage.SPEC_SENT:
            stage = rules.after_changes_requested(stage) or stage
        elif event == "send_new_version":
            nxt = rules.after_spec_sent(stage)
            if nxt:
                stage, approved = nxt, False  # a new version needs a new approval
        elif event == "pay_part":
            paid = min(paid + 40, 100)
        elif event == "pay_rest":
            paid = 100
        elif event == "refund":
            paid = max(paid - 50, 0)
        elif event == "hold":
            hold = True
        elif event == "release":
            hold = False
        facts = GateFacts(spec_approved=approved, paid_in_full=paid >= 100, on_credit_hold=hold)
        if event == "move":
            decision = rules.decide_manual_move(stage, target, facts, is_admin=admin)  # no reason: never an override
            if isinstance(decision, Allowed):
                entering = decision.target is Stage.IN_PRODUCTION and stage is not Stage.IN_PRODUCTION
                stage = decision.target
                if entering:
                    assert approved and paid >= 100 and not hold
        automatic = rules.after_facts_changed(stage, facts)
        while automatic is not None:
            if automatic is Stage.IN_PRODUCTION:
                assert approved and paid >= 100 and not hold
            stage = automatic
            automatic = rules.after_facts_changed(stage, facts)

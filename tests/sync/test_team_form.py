"""The dashboard's edit form on a team replica, which holds masks in place of the sensitive
values it never keeps (`sync/masks.py`): a reader sees each mask and may type over it; a
field left alone is never sent, so saving the form clears and changes none of them."""

from contextlib import asynccontextmanager

from sqlmodel import select

from crmcli.models import AuditEvent, Customer, SensitiveMask

ID = "11010519491231002X"
CARD = "6222021234567890128"  # 19 digits, passes the Luhn check
SENSITIVE = ("contract_amount", "id_number", "bank_account")


def with_secrets(team, acme, postgres) -> str:
    """alice gives Acme all three sensitive values; every replica syncs (masks only)."""
    alice = team["alice"]
    alice.ok("customer", "edit", acme, "--set", "contract_amount=50万", "--set",
             f"id_number={ID}", "--set", f"bank_account={CARD}")
    for member in (alice, team["bob"], team["carol"]):
        member.sync()
    with alice.session() as s:  # her replica forgot them once pushed
        assert s.exec(select(SensitiveMask.field)).all() != []
        held = s.exec(select(Customer.contract_amount, Customer.id_number,
                             Customer.bank_account)).all()
        assert held == [(None, None, None)]
    return postgres.value("SELECT id FROM customer")


@asynccontextmanager
async def editing(member, customer_id: str):
    """`member`'s dashboard on the customer's edit form (the customer screen's `e` key):
    yields (dashboard, pilot, form)."""
    from crmcli import config
    from crmcli.tui.app import make_app
    from crmcli.tui.screens.customer import CustomerScreen
    from crmcli.tui.screens.customer_form import CustomerFormScreen
    from tui.helpers import press, settle

    dashboard = make_app(config.resolve(str(member.path), member.handle))
    async with dashboard.run_test(size=(120, 50)) as pilot:
        await settle(pilot)
        await dashboard.push_screen(CustomerScreen(customer_id))
        await settle(pilot)
        await press(pilot, "e")
        assert isinstance(dashboard.screen, CustomerFormScreen)
        yield dashboard, pilot, dashboard.screen


def inputs(form) -> dict[str, tuple[str, bool]]:
    return {name: (form.fields[name].control.value, form.fields[name].control.disabled)
            for name in SENSITIVE}


async def test_the_edit_form_shows_a_reader_the_masks_and_saving_it_sends_none_of_them(
    team, acme, postgres
):
    from tui.helpers import press, screen_text

    alice = team["alice"]
    customer_id = with_secrets(team, acme, postgres)
    stored = "SELECT contract_amount::text, id_number, bank_account, city FROM customer"
    assert postgres.rows(stored) == [("500000", ID, CARD, "Shanghai")]
    async with editing(alice, customer_id) as (dashboard, pilot, form):
        assert inputs(form) == {
            "contract_amount": ("≥100,000", False),
            "id_number": ("••••002X", False),
            "bank_account": ("••••0128", False),
        }
        shown = screen_text(dashboard)
        assert "••••002X" in shown and "••••0128" in shown
        assert ID not in shown and CARD not in shown and "500000" not in shown
        form.fields["city"].control.value = "Hangzhou"
        await press(pilot, "ctrl+s")
        assert dashboard.screen is not form  # saved and closed

    with alice.session() as s:
        [edit] = s.exec(select(AuditEvent).where(
            AuditEvent.action == "customer.update", AuditEvent.customer_id == customer_id,
            AuditEvent.actor == "alice").order_by(AuditEvent.at.desc()).limit(1)).all()
        assert set(edit.changes) == {"city"}
        assert sorted(s.exec(select(SensitiveMask.field)).all()) == sorted(SENSITIVE)
    alice.sync()
    assert postgres.rows(stored) == [("500000", ID, CARD, "Hangzhou")]
    [changes] = postgres.rows(
        "SELECT changes FROM audit_event WHERE action = 'customer.update' "
        "ORDER BY server_seq DESC LIMIT 1")[0]
    assert set(changes) == {"city"}


async def test_a_reader_of_one_field_sees_its_mask_and_may_not_write_the_others(
    team, acme, postgres
):
    carol = team["carol"]  # a manager: reads contract_amount only
    customer_id = with_secrets(team, acme, postgres)
    async with editing(carol, customer_id) as (_, _, form):
        shown = inputs(form)
        assert shown["contract_amount"] == ("≥100,000", False)
        assert shown["id_number"][1] is True and shown["bank_account"][1] is True
        assert "002X" not in shown["id_number"][0] and "0128" not in shown["bank_account"][0]


async def test_a_reader_types_over_one_mask_and_clears_another(team, acme, postgres):
    from tui.helpers import press

    alice = team["alice"]
    customer_id = with_secrets(team, acme, postgres)
    async with editing(alice, customer_id) as (dashboard, pilot, form):
        form.fields["id_number"].control.value = "110105194912310038"
        form.fields["bank_account"].control.value = ""
        await press(pilot, "ctrl+s")
        assert dashboard.screen is not form  # saved and closed, nothing refused
    alice.sync()
    assert postgres.rows("SELECT contract_amount::text, id_number, bank_account FROM customer"
                         ) == [("500000", "110105194912310038", None)]
    with alice.session() as s:  # the masks she is shown now
        shown = select(SensitiveMask.field).where(SensitiveMask.mask != "")
        assert sorted(s.exec(shown).all()) == ["contract_amount", "id_number"]

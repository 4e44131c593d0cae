"""Add or edit a customer: one input per field of the data dictionary and per custom field.

Values are typed text, parsed by the same rules as `crm customer add/edit` (Chinese
aliases included: 阶段 谈判, 响应时限 24小时). Every refused value is shown under its
field before anything is written. An edit sends only the fields the user changed, with
the values the form showed (every field, custom fields too): if someone else changed any
of them meanwhile, in another terminal or through a sync, the save is refused
(`errors.Conflict`, shown in the form's banner) instead of writing over their change.

Sensitive fields show what `sensitive.present` shows this reader: a mask (`••••3445`) to
a cleared reader, who may type a new value over it, and `restricted` in a disabled input
to anyone else (who may not write it either, on a new customer too); the stored value
never reaches the screen (reveal it on the customer screen). A team's replica holds no
sensitive value, only its mask (`sensitive.with_mask`): the form shows that the same way.
A mask left as it is, like any field left alone, is never sent.

Stored values appear with control characters and bidi overrides made visible
(`display.clean`), as everywhere else on screen. "Changed" means "differs from what the
input showed", so a field left alone is never sent and its escapes never replace the
stored characters.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from textual.app import ComposeResult
from textual.widgets import Checkbox, Input, Label

from crmcli import fields
from crmcli.display import clean
from crmcli.errors import CrmError, Duplicate, Invalid
from crmcli.models import Customer
from crmcli.repo import custom_fields, customers, sensitive, users
from crmcli.repo.users import Actor
from crmcli.tui.data import Change
from crmcli.tui.screens.base import FormScreen


class CustomerFormScreen(FormScreen):
    def __init__(self, customer_id: str | None = None) -> None:
        super().__init__("Edit customer" if customer_id else "New customer")
        self.customer_id = customer_id
        self.custom: dict[str, fields.CustomField] = {}
        self.shown: dict[str, Any] | None = None  # stored values, as the form opened on them
        self.initial: dict[str, str] = {}  # the same, as text in the inputs
        self.restricted: set[str] = set()  # sensitive fields this reader may not read

    def compose_fields(self) -> ComposeResult:
        for spec in fields.CUSTOMER_FIELDS:
            control = Input(placeholder=f"{spec.label} · {spec.meaning}", compact=True)
            yield self.field(spec.name, spec.name, control)
        yield Label("Custom fields", id="custom-title")
        keep = Checkbox("keep it even if it looks like a duplicate", id="allow-duplicate")
        yield self.field("duplicate", "", keep)

    def read(self, s: Session) -> tuple[Customer | None, dict[str, fields.CustomField], Any]:
        customer = customers.by_id(s, self.customer_id) if self.customer_id else None
        seen = sensitive.clearance(s, users.acting(s, self.workspace.handle))
        if customer is not None:
            seen.held(customer.id)  # a team replica's masks, looked up while `s` is open
        return customer, custom_fields.declared(s), seen

    async def fill(self, data: tuple[Customer | None, dict[str, fields.CustomField], Any]) -> None:
        customer, self.custom, seen = data
        # only a field's readers may write it (`sensitive.require_writable`)
        self.restricted = {name for name in seen.sensitive if not seen.may_read(name)}
        if self.custom:
            placed = [self.field(name, name, Input(placeholder=spec.type, compact=True))
                      for name, spec in self.custom.items()]
            await self.query_one("#form-body").mount_all(placed, after="#custom-title")
        else:
            self.query_one("#custom-title").display = False
        if customer is not None:
            names = [*(spec.name for spec in fields.CUSTOMER_FIELDS), *self.custom]
            self.shown = customers.field_values(customer, names)
            # What the inputs show, escapes and all: an Input draws its value verbatim,
            # so a raw ESC would reach the terminal.
            self.initial = {name: self._initial(seen, customer.id, name, value)
                            for name, value in self.shown.items()}
        for name, value in self.initial.items():
            self.fields[name].control.value = value
        for name in self.restricted & self.fields.keys():
            self.fields[name].control.disabled = True
        self.fields["name"].control.focus()

    def _initial(self, seen: Any, customer_id: str, name: str, value: Any) -> str:
        shown = sensitive.present(seen, name, sensitive.with_mask(seen, customer_id, name, value))
        if shown.state != sensitive.PLAIN:
            return shown.value
        return clean(fields.show_value(name, value))

    def typed(self) -> dict[str, str]:
        """What the user typed: on an edit the changed fields only, else the filled ones."""
        values = {name: field.control.value for name, field in self.fields.items()
                  if isinstance(field.control, Input)}
        if self.customer_id:
            return {name: value for name, value in values.items()
                    if value != self.initial.get(name, "")}
        return {name: value for name, value in values.items() if value.strip()}

    def refusal(self, item: tuple[str, str]) -> Invalid | None:
        """Why the data dictionary refuses this value, if it does."""
        try:
            fields.parse_customer(dict([item]), self.workspace.database.region, self.custom)
        except Invalid as error:
            return error
        return None

    def show_error(self, error: CrmError) -> None:
        """The duplicate guard's reason names the command line's flag; here the way out is
        the checkbox the reason is shown under."""
        if isinstance(error, Duplicate):
            error = Invalid(f"{error.found}; tick the box above to keep both", error.field)
        super().show_error(error)

    def change(self) -> Change | None:
        raw = self.typed()
        refused = [error for error in map(self.refusal, raw.items()) if error]
        for error in reversed(refused):  # every reason shown; the first field focused
            self.show_error(error)
        if refused:
            return None
        if self.customer_id and not raw:
            self.dismiss("nothing changed")
            return None
        allow_duplicate = self.query_one("#allow-duplicate", Checkbox).value
        customer_id, shown = self.customer_id, self.shown

        def save(s: Session, me: Actor) -> str:
            if customer_id is None:
                return added(s, raw, me, allow_duplicate)
            customer = customers.live(s, customer_id)
            changed = customers.update(s, customer, raw, by=me, allow_duplicate=allow_duplicate,
                                       expected=shown)
            return f"updated {customers.describe(customer)}: {', '.join(sorted(changed))}"

        return save


def added(s: Session, raw: dict[str, str], me: Actor, allow_duplicate: bool) -> str:
    """Add the customer the form holds, routed by the team's rules when it names no owner
    (with the shared database's turns on a team replica, as `crm customer add`); says
    who owns it, and anything routing had to say."""
    from crmcli.repo import routing
    from crmcli.sync import route_turns

    said: list[str] = []
    with route_turns.turns_for(s, said.append) as turns:
        router = routing.Router(s, turns)
        customer = customers.create(s, raw, by=me, allow_duplicate=allow_duplicate,
                                    router=router)
    routed = router.last
    if routed is not None and routed.owner.handle == customer.owner:
        said.insert(0, f"routed to {customer.owner} by rule {routed.rule}")
    return "; ".join([f"added {customers.describe(customer)}", *said, *router.warnings])

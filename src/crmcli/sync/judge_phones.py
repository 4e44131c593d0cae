"""Schema version 5 in SQL: a phone may carry its extension.

A replica stores a switchboard's extension after the E.164 number as RFC 3966 writes it
(`+861065521234;ext=8001`, see `crmcli.phones`). Version 4's check allowed the bare
number only, so a member's push of such a phone was refused; this one allows the
extension (1 to 10 digits after `;ext=`) and still refuses anything else. It keeps the
constraint's name, so a refusal names the same rule as before.
"""

from __future__ import annotations

PHONE_EXTENSIONS = r"""
ALTER TABLE customer DROP CONSTRAINT customer_phone_is_e164;
ALTER TABLE customer ADD CONSTRAINT customer_phone_is_e164
    CHECK (phone IS NULL OR phone ~ '^\+[1-9][0-9]{6,14}(;ext=[0-9]{1,10})?$') NOT VALID;
"""

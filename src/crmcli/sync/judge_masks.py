"""Schema version 4 in SQL: what a cleared reader of a team sees before revealing a value.

A replica linked to a team holds no sensitive value (`tables.SENSITIVE`), yet a reader
cleared for one should see that it is there, masked (`••••3445`, `≥100,000`), as on a
local database; the value itself only through `crm_reveal`, which records the reveal.
`crm_masks` answers, for the customers a pull brings (NULL: every customer the member
sees), a stand-in for each value the connected member may read: an ID or account as
`••••` and its last four characters (none if it is that short), an amount as the power
of ten below it (0 below 1); a custom field's value as text. A replica shows `repo.sensitive.mask` of the stand-in, which
is the mask of the value itself, so the masking rule is written once, in Python. Each
comes with a digest of the value (md5), which tells a push whether the value changed since
the replica last pulled (`rights.sendable_secrets`) without telling it the value.
"""

from __future__ import annotations

MASKS = r"""
CREATE FUNCTION crm_masks(customer_ids text[])
RETURNS TABLE (customer_id text, field text, stand_in text, digest text)
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
DECLARE
    who crm_who := crm_actor();
    readable text[] := ARRAY(
        SELECT f FROM unnest(crm_sensitive_fields()) AS f WHERE crm_may_read(who, f));
BEGIN
    IF cardinality(readable) = 0 THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT c.id, v.field, CASE
        WHEN v.field <> 'contract_amount' THEN
            '••••' || CASE WHEN length(v.value) > 4 THEN right(v.value, 4) ELSE '' END
        WHEN c.contract_amount < 1 THEN '0'
        ELSE '1' || repeat('0', length(trunc(c.contract_amount)::text) - 1) END,
        md5(v.value)
    FROM customer c
    CROSS JOIN LATERAL (VALUES ('contract_amount', c.contract_amount::text),
                               ('id_number', c.id_number),
                               ('bank_account', c.bank_account)) AS v(field, value)
    WHERE (customer_ids IS NULL OR c.id = ANY (customer_ids))
      AND c.deleted_at IS NULL AND v.value IS NOT NULL AND v.field = ANY (readable)
      AND (NOT crm_visibility_own() OR crm_sees(c.id, c.owner))
    UNION ALL  -- custom sensitive fields (`judge_custom.py`), masked as text
    SELECT c.id, s.field, '••••' || CASE
        WHEN length(s.value #>> '{}') > 4 THEN right(s.value #>> '{}', 4) ELSE '' END,
        md5(s.value::text)
    FROM customer_secret s JOIN customer c ON c.id = s.customer_id
    WHERE (customer_ids IS NULL OR c.id = ANY (customer_ids))
      AND c.deleted_at IS NULL AND s.field = ANY (readable)
      AND (NOT crm_visibility_own() OR crm_sees(c.id, c.owner));
END $$;
"""

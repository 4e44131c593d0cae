"""Schema version 4 in SQL: the shared database checks the values a closed list does not.

The same rules as the data dictionary (`crmcli.fields`, `crmcli.phones`) and
`crmcli.documents` (read its docstring for what each sensitive field accepts), written
again because a member's own client cannot be trusted to apply them. The shared database
holds values as a replica sends them, already normalised (a phone in E.164, an e-mail in
lower case, an ID without spaces and upper-cased), so here only the normal form is
accepted. A phone is checked for its E.164 shape only (version 5, `judge_phones`, lets
an extension follow it): whether a number exists in its
region is the phonenumbers library's to say, on the replica. contract_amount's rule
(never negative) is a CHECK constraint of schema version 3.

The ID number and bank account are checked by a trigger rather than a CHECK constraint,
because a resident ID's birth date may not be in the future and a constraint must not
depend on the day; it only looks at a value that changes. The CHECK constraints are NOT
VALID: rows stored before this version are not checked when it is applied, but a later
change to such a row must bring it in line. A refusal names the field and the rule, never
the value (it may reach logs).
"""

from __future__ import annotations

from crmcli.fields import MAX_DURATION_MINUTES

V4 = r"""
ALTER TABLE customer ADD CONSTRAINT customer_phone_is_e164
    CHECK (phone IS NULL OR phone ~ '^\+[1-9][0-9]{6,14}$') NOT VALID;
ALTER TABLE customer ADD CONSTRAINT customer_email_is_an_address
    CHECK (email IS NULL OR (email = lower(btrim(email))
                             AND email ~ '^[^@\s]+@[^@\s]+\.[^@\s.]+$')) NOT VALID;
ALTER TABLE customer ADD CONSTRAINT customer_sla_is_a_duration
    CHECK (sla IS NULL OR sla BETWEEN 1 AND MAX_DURATION_MINUTES) NOT VALID;
ALTER TABLE customer ADD CONSTRAINT customer_tags_are_a_list
    CHECK (jsonb_typeof(tags) = 'array') NOT VALID;

-- The ISO 7064 MOD 11-2 check character of a mainland resident ID's first 17 digits.
CREATE FUNCTION crm_resident_id_check(first17 text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT substr('10X98765432', (sum(
        substr(first17, i, 1)::int * ((1 << (18 - i)) % 11)) % 11)::int + 1, 1)
    FROM generate_series(1, 17) AS i
$$;

-- Whether a string of digits passes the Luhn check (card numbers).
CREATE FUNCTION crm_luhn_valid(digits text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT sum(CASE
        WHEN (length(digits) - i) % 2 = 0 THEN d
        WHEN d > 4 THEN d * 2 - 9
        ELSE d * 2 END) % 10 = 0
    FROM generate_series(1, length(digits)) AS i,
         LATERAL (SELECT substr(digits, i, 1)::int AS d) AS digit
$$;

-- What is wrong with an id_number (NULL: nothing).
CREATE FUNCTION crm_id_number_problem(value text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    born date;
BEGIN
    IF value IS NULL THEN
        RETURN NULL;
    END IF;
    IF upper(value) = 'RESTRICTED' OR value LIKE '%•%' THEN
        RETURN 'a placeholder shown to readers who may not see the value is not a value';
    END IF;
    IF length(value) = 18 AND value ~ '^[0-9]{17}' THEN
        IF value !~ '^[0-9]{17}[0-9X]$' THEN
            RETURN 'a mainland resident ID ends in a digit or X';
        END IF;
        BEGIN
            born := make_date(substr(value, 7, 4)::int, substr(value, 11, 2)::int,
                              substr(value, 13, 2)::int);
        EXCEPTION WHEN datetime_field_overflow THEN
            born := NULL;
        END;
        IF born IS NULL OR born < DATE '1900-01-01' OR born > current_date THEN
            RETURN 'characters 7-14 of a mainland resident ID are a birth date '
                   '(YYYYMMDD, 1900 to today)';
        END IF;
        IF crm_resident_id_check(left(value, 17)) <> right(value, 1) THEN
            RETURN 'the check character of this mainland resident ID is wrong';
        END IF;
        RETURN NULL;
    END IF;
    IF value ~ '^[0-9]+X?$' THEN
        RETURN 'a mainland resident ID has 18 characters (17 digits and a digit or X); '
               'other documents contain a letter';
    END IF;
    IF value !~ '^[A-Z0-9]{5,20}$' THEN
        RETURN 'other documents (passport, HK/Macau/Taiwan permits) are 5-20 letters A-Z '
               'and digits with at least one letter';
    END IF;
    RETURN NULL;
END $$;

-- What is wrong with a bank_account (NULL: nothing).
CREATE FUNCTION crm_bank_account_problem(value text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN value IS NULL THEN NULL
        WHEN value !~ '^[0-9]{8,30}$' THEN 'a bank account is 8 to 30 digits'
        WHEN length(value) BETWEEN 16 AND 19 AND NOT crm_luhn_valid(value)
            THEN 'a card number of 16 to 19 digits must pass the Luhn check '
                 '(a digit was mistyped)'
    END
$$;

-- A problem's text is NULL when there is none, and so is the message made from it.
CREATE FUNCTION crm_sensitive_values_valid() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    inserting boolean := TG_OP = 'INSERT';
    problem text := coalesce(
        CASE WHEN inserting OR NEW.id_number IS DISTINCT FROM OLD.id_number
            THEN 'id_number refused: ' || crm_id_number_problem(NEW.id_number) END,
        CASE WHEN inserting OR NEW.bank_account IS DISTINCT FROM OLD.bank_account
            THEN 'bank_account refused: ' || crm_bank_account_problem(NEW.bank_account) END);
BEGIN
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = problem;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER customer_sensitive_values_valid
    BEFORE INSERT OR UPDATE OF id_number, bank_account ON customer
    FOR EACH ROW EXECUTE FUNCTION crm_sensitive_values_valid();
""".replace("MAX_DURATION_MINUTES", str(MAX_DURATION_MINUTES))

# Schema version 8: a customer written with neither an id number nor a bank account has
# nothing to check, and the trigger is not even called (a call was 4 to 8 µs of CPU: up to
# 0.8 s of a push of 100,000 imported customers).
SENSITIVE_VALUES_CALLED = """
DROP TRIGGER customer_sensitive_values_valid ON customer;
CREATE TRIGGER customer_sensitive_values_valid
    BEFORE INSERT OR UPDATE OF id_number, bank_account ON customer
    FOR EACH ROW WHEN (NEW.id_number IS NOT NULL OR NEW.bank_account IS NOT NULL)
    EXECUTE FUNCTION crm_sensitive_values_valid();
"""

-- The pseudonymous complainant of each work order, in its latest state as of the run: the key
-- analysts count repeat complainants by (mart_repeat_complainants), never the phone.
--
-- complainant_key = 'K' + the first 20 hex digits of md5('cei complainant key:' || the phone's
-- keyed HMAC), written with letters only (0–9 → g h j k m n p q r s). Why each part:
--   * the HMAC (cei.pii, keyed by CEI_PII_SECRET) makes it unlinkable to a number without the
--     secret, and stable from night to night while the secret stays;
--   * md5 of it under its own label: the marts never carry the value stored in raw and staging;
--   * letters only: no run of digits, so a key can never look like a mobile number to a reader
--     or to the marts' personal-data scan (tests/integration/test_security.py); 80 bits keep two
--     callers from sharing a key at any volume the bureau sees.
-- A work order without a phone has no key.

-- Incremental like int_work_orders_latest: each build recomputes only the keys new versions touch
-- (macros/incremental/newest_versions.sql).

{{ config(**newest_versions_config('stg_hotline__work_orders', ['work_order_id'])) }}

with

latest as (

    {{ latest_state('stg_hotline__work_orders', ['work_order_id'], 'updated_at',
                    ['work_order_id', 'consumer_phone_hmac']) }}

),

final as (

    select
        work_order_id,
        'K' || translate(left(md5('cei complainant key:' || consumer_phone_hmac), 20),
                         '0123456789', 'ghjkmnpqrs') as complainant_key,
        load_file_id,
        delivery_date,
        source_row
    from latest

)

select * from final

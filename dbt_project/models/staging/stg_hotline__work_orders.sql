-- 12315 / 12345 work orders (工单), one row per loaded version: rename and cast only.
-- Newest-wins is decided downstream (int_work_orders_latest).

with

source as (

    {{ raw_versions_in_force('hotline_work_orders') }}

),

renamed as (

    select

        ----------  lineage
        {{ raw_lineage_columns() }}

        ----------  ids
        work_order_id,
        region_code,

        ----------  text
        kind,
        channel,
        handling_unit,
        respondent_name,
        respondent_uscc,
        category,
        outcome,
        callback,

        ----------  booleans
        is_tourism,

        ----------  numerics
        disputed_amount,
        recovered_loss,

        ----------  timestamps (instants, and their Asia/Shanghai wall clock)
        registered_at,
        {{ to_local('registered_at') }} as registered_at_local,
        accepted_at,
        {{ to_local('accepted_at') }} as accepted_at_local,
        closed_at,
        {{ to_local('closed_at') }} as closed_at_local,
        updated_at,

        ----------  personal data: keyed hash only (the name is never stored). Stays in staging;
        ----------  intermediate and marts do not carry it.
        consumer_phone_hmac

    from source

),

final as (

    select * from renamed

)

select * from final

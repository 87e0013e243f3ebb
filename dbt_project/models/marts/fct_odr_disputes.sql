-- ODR disputes (在线消费纠纷), one row per dispute_id in its latest state as of the run, with its
-- assessment unit.

with

disputes as (

    select * from {{ ref('int_odr_disputes_latest') }}

),

final as (

    select
        dispute_id,
        enterprise_uscc,
        enterprise_name,
        region_code,
        unit_code,
        status,
        disputed_amount,
        filed_at,
        filed_at_local,
        closed_at,
        closed_at_local,
        updated_at,
        field_warnings,
        version_count,
        load_file_id,
        delivery_date,
        source_row
    from disputes

)

select * from final

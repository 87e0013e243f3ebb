-- ODR disputes (在线消费纠纷), one row per dispute_id in its latest state as of the run, with its
-- assessment unit.

-- Incremental: each build rewrites only the rows of the keys new versions touch
-- (macros/incremental/newest_versions.sql); the build schema is kept from one publication to the next.

{{ config(**newest_versions_config('stg_odr__disputes', ['dispute_id'])) }}

with

disputes as (

    select * from {{ ref('int_odr_disputes_latest') }}
    where {{ newest_versions_touched(ref('stg_odr__disputes'), ['dispute_id']) }}

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

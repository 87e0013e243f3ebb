-- Product-quality sampling inspections (商品质量抽检), one row per sampled batch in its latest
-- state (a re-test may overturn a result) as of the run, with its assessment unit.

-- Incremental: each build rewrites only the rows of the keys new versions touch
-- (macros/incremental/newest_versions.sql); the build schema is kept from one publication to the next.

{{ config(**newest_versions_config('stg_inspection__samples', ['sample_id'])) }}

with

samples as (

    select * from {{ ref('int_inspection_samples_latest') }}
    where {{ newest_versions_touched(ref('stg_inspection__samples'), ['sample_id']) }}

),

final as (

    select
        sample_id,
        sampled_on,
        region_code,
        unit_code,
        product_category,
        sales_channel,
        platform_name,
        enterprise_name,
        enterprise_uscc,
        inspection_result,
        failed_items,
        updated_at,
        field_warnings,
        version_count,
        load_file_id,
        delivery_date,
        source_row
    from samples

)

select * from final

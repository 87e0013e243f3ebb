-- Product-quality sampling inspections (商品质量抽检), one row per sampled batch in its latest
-- state (a re-test may overturn a result) as of the run, with its assessment unit.

with

samples as (

    select * from {{ ref('int_inspection_samples_latest') }}

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

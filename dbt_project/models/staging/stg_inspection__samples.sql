-- Product-quality sampling inspections (流通领域商品质量抽检), one row per loaded version:
-- rename and cast only. Newest-wins (a re-test may overturn a result) is decided downstream
-- (int_inspection_samples_latest).

with

source as (

    {{ raw_versions_in_force('inspection_samples') }}

),

renamed as (

    select

        ----------  lineage
        {{ raw_lineage_columns() }}

        ----------  ids
        sample_id,
        enterprise_uscc,
        region_code,

        ----------  text
        product_category,
        channel as sales_channel,
        platform_name,
        enterprise_name,
        result as inspection_result,
        failed_items,

        ----------  dates (a calendar date as recorded: already local)
        sampled_on,

        ----------  timestamps
        updated_at

    from source

),

final as (

    select * from renamed

)

select * from final

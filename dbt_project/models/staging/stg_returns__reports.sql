-- Offline no-reason-return (线下无理由退货) monthly reports, one row per loaded version: rename
-- and cast only. The latest report per enterprise and month is picked downstream
-- (int_return_reports_latest).

with

source as (

    {{ raw_versions_in_force('return_reports') }}

),

renamed as (

    select

        ----------  lineage
        {{ raw_lineage_columns() }}

        ----------  ids
        enterprise_uscc,
        region_code,

        ----------  text
        enterprise_name,

        ----------  numerics
        return_items,
        refund_amount,

        ----------  dates (calendar dates as reported: already local)
        report_month,
        committed_on

    from source

),

final as (

    select * from renamed

)

select * from final

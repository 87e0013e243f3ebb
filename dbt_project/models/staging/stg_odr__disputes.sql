-- Online dispute resolution (在线消费纠纷解决) disputes, one row per loaded version: rename and
-- cast only. Newest-wins is decided downstream (int_odr_disputes_latest).

with

source as (

    {{ raw_versions_in_force('odr_disputes') }}

),

renamed as (

    select

        ----------  lineage
        {{ raw_lineage_columns() }}

        ----------  ids
        dispute_id,
        enterprise_uscc,
        region_code,

        ----------  text
        enterprise_name,
        status,

        ----------  numerics
        amount as disputed_amount,

        ----------  timestamps (instants, and their Asia/Shanghai wall clock)
        filed_at,
        {{ to_local('filed_at') }} as filed_at_local,
        closed_at,
        {{ to_local('closed_at') }} as closed_at_local,
        updated_at

    from source

),

final as (

    select * from renamed

)

select * from final

-- Online dispute resolution (在线消费纠纷解决) disputes, one row per loaded version: rename and
-- cast only. Newest-wins is decided downstream (int_odr_disputes_latest).

with

source as (

    select * from {{ source('raw', 'odr_disputes') }}
    -- rows of a file the data steward withdrew count nowhere (cei.steward)
    where not withdrawn

),

renamed as (

    select

        ----------  lineage
        load_file_id,
        delivery_date,
        source_row,
        row_hash,
        warnings as field_warnings,

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

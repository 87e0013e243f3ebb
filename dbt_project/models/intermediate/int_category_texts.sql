-- Each free-text 商品服务类别 the bureau has mapped (seeds/ref_category_map.csv), with its code in
-- the two-level 12315 classification (seeds/ref_categories.csv) and that code's first-level group.
-- The one place the mapping rule lives: a work order's text, as delivered (ingestion trims it),
-- equals a mapped text exactly, or it is unmapped (its code stays empty and the marts gate warns).
-- fct_work_orders reads it; a change of either seed recomputes every work order's code there.

with

category_map as (

    select * from {{ ref('ref_category_map') }}

),

categories as (

    select * from {{ ref('ref_categories') }}

),

final as (

    select
        btrim(category_map.category_text) as category_text,
        categories.category_code,
        categories.category_level,
        -- a text that names only a group is counted at the group itself
        case categories.category_level
            when 1 then categories.category_code
            else categories.parent_code
        end as category_level1_code
    from category_map
    inner join categories
        on categories.category_code = category_map.category_code

)

select * from final

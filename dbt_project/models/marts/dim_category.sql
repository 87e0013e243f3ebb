-- The 12315 商品/服务 classification (seeds/ref_categories.csv), one row per code, with each code's
-- first-level group and domain beside it, and how many delivered texts map to it
-- (seeds/ref_category_map.csv): what fct_work_orders.category_code and category_level1_code join to.

with

categories as (

    select * from {{ ref('ref_categories') }}

),

category_texts as (

    select * from {{ ref('int_category_texts') }}

),

mapped as (

    select category_code, count(*) as mapped_texts
    from category_texts
    group by category_code

),

final as (

    select
        categories.category_code,
        categories.category_level,
        categories.category_name,
        categories.parent_code,
        coalesce(categories.parent_code, categories.category_code) as category_level1_code,
        coalesce(groups.category_name, categories.category_name) as category_level1_name,
        -- a second-level class takes its group's domain
        coalesce(categories.domain, groups.domain) as domain,
        coalesce(mapped.mapped_texts, 0) as mapped_texts
    from categories
    left join categories as groups
        on groups.category_code = categories.parent_code
    left join mapped
        on mapped.category_code = categories.category_code

)

select * from final

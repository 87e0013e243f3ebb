{#-
    The order of the versions of one business key, newest first (feeds.md: "the newest state
    wins"): the feed's newest-wins column when it has one (hotline, odr, inspection:
    updated_at), then the later delivery, then the later-loaded file, then the later row in the
    file. Used as `row_number() over (partition by <key> order by {{ newest_wins_order(...) }})`.
-#}
{% macro newest_wins_order(newest_wins_column=none) -%}
    {%- if newest_wins_column is not none -%}{{ newest_wins_column }} desc nulls last, {% endif -%}
    delivery_date desc, load_file_id desc, source_row desc
{%- endmacro %}

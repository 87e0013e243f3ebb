{#-
    Model pre-hooks that change a PostgreSQL planner setting for one model's build: `set local`
    lasts for the model's transaction only (its statements and hooks), never for the next model
    on the same connection.
-#}

{#-
    `{{ config(pre_hook=without_jit()) }}`. These marts expand many views whose row estimates
    multiply (cross joins over seeds and generated series), so PostgreSQL's planner thinks them
    huge and, on a server built with LLVM, spends ~25 s JIT-compiling a query that runs in under a
    second.
-#}
{% macro without_jit() -%}
    set local jit = off
{%- endmacro %}

{#-
    For models that aggregate a range of a large table (a month of work orders or clocks): the
    rows of a month lie on most of the table's pages, interleaved with other months', and the
    planner, trusting the column's high correlation with the table's order, reads them by a
    plain index scan — one page visit per row, in index order. A bitmap scan visits each page
    once, in the table's order. A night's family on 2.5 M work orders (885 k rows since the
    month before): 2.2 s by index scan, 0.9 s by bitmap (docs/performance.md, session 14). The
    planner still chooses a sequential scan where that is cheaper.
-#}
{% macro without_plain_index_scans() -%}
    set local enable_indexscan = off
{%- endmacro %}

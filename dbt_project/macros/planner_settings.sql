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
    month before): 2.2 s by index scan, 0.9 s by bitmap.
-#}
{% macro without_plain_index_scans() -%}
    set local enable_indexscan = off
{%- endmacro %}

{#-
    For the same models when every large table they read is filtered on an indexed column (an
    indicator family recomputing some months): no sequential scans either. The planner costs a
    bitmap scan as if the range's rows were spread over every page of the table; on 10 M work
    orders it chose a parallel sequential scan of all 366 k pages (2.2 s) over the bitmap scan
    that reads the 84 k pages holding them (0.9 s). A table with no usable index
    is still read sequentially.
-#}
{% macro without_sequential_scans() -%}
    set local enable_seqscan = off
{%- endmacro %}

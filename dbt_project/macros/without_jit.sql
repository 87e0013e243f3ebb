{#-
    A model pre-hook: `{{ config(pre_hook=without_jit()) }}`. These marts expand many views whose
    row estimates multiply (cross joins over seeds and generated series), so PostgreSQL's planner
    thinks them huge and, on a server built with LLVM, spends ~25 s JIT-compiling a query that
    runs in under a second. `set local` lasts for the model's transaction only.
-#}
{% macro without_jit() -%}
    set local jit = off
{%- endmacro %}

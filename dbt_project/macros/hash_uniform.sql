{#-
    A deterministic pseudo-random number, uniform on [0, 1), from hashing `parts` (SQL
    expressions): the first 48 bits of md5(part1 ':' part2 ':' …) divided by 2^48. The same parts
    give the same number on every run, machine and PostgreSQL version; different parts give
    independent-looking numbers. Set-based and reproducible — what the index's Monte Carlo needs
    (a fixed seed), with no random() state.
-#}
{% macro hash_uniform(parts) -%}
    (cast(cast(('x' || substr(md5(concat_ws(':', {{ parts | join(', ') }})), 1, 12)) as bit(48)) as bigint)
        / cast(281474976710656 as numeric))
{%- endmacro %}

{#
    Keep one row per key from `relation` (a CTE name): the first by `order_by`.
    Silver models use it to pick the latest version of a record, with a total ordering so the
    winner never depends on the order rows were read in.
#}
{% macro latest_by_key(relation, key, order_by) -%}
    select *
    from {{ relation }}
    qualify row_number() over (partition by {{ key }} order by {{ order_by }}) = 1
{%- endmacro %}

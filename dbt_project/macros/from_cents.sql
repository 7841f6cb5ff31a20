{#- An integer amount of cents as a decimal amount of money with two places (exact below 2^53). -#}
{% macro from_cents(column) -%}
    cast({{ column }} / 100 as decimal(18, 2))
{%- endmacro %}

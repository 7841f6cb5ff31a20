{#
    The keys an incremental model downstream of silver must recompute: `key` of every row of
    `relations` (refs or CTE names) ingested at or after the model's watermark
    (`bronze_watermark`: the newest `_ingested_at` the model holds, minus the look-back). The
    model carries, per row, the newest `_ingested_at` of the rows it was computed from, so its
    watermark moves with what it has seen. Use it only in an `is_incremental()` branch.
#}
{% macro changed_keys(relations, key) -%}
    {%- for relation in relations -%}
        select {{ key }} from {{ relation }} where {{ bronze_watermark() }}
        {% if not loop.last %}union{% endif %}
    {% endfor -%}
{%- endmacro %}

{#
    The keys an incremental model downstream of silver must recompute: `key` of every row of
    `relations` that changed since this model last read them. A ref is read from the oldest
    `_ingested_at` its runs changed since then (`input_since`, bronze_since.sql: exact, by run);
    a CTE name, or a model that does not record its runs, from this model's time watermark
    (`bronze_watermark`: the newest `_ingested_at` the model holds, minus the look-back). The
    model carries, per row, the newest `_ingested_at` of the rows it was computed from. Use it
    only in an `is_incremental()` branch.
#}
{% macro changed_keys(relations, key) -%}
    {%- set refs = relations | reject('string') | list -%}
    {# the refs' bounds in one look-up and one write (inputs_since, bronze_since.sql) #}
    {%- set bounds = inputs_since(refs) if refs else [] -%}
    {%- for relation in relations -%}
        select {{ key }} from {{ relation }}
        {% if relation is string -%}
            where {{ bronze_watermark() }}
        {%- else -%}
            where _ingested_at >= {{ bounds[refs.index(relation)] }}
        {%- endif %}
        {% if not loop.last %}union{% endif %}
    {% endfor -%}
{%- endmacro %}

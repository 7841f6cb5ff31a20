{#
    The rows of `relation` (a CTE name) an incremental merge must write: in an incremental run,
    those that differ from the row the model already holds (a recomputed row equal to it is left
    out, so the merge touches only what changed: DuckDB's MERGE costs per row matched). On a full
    refresh, every row.
#}
{% macro changed_rows(relation) -%}
    select * from {{ relation }}
    {% if is_incremental() %}
        except
        select * from {{ this }}
    {% endif %}
{%- endmacro %}

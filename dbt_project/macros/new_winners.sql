{#
    The rows of `relation` (a CTE name) that win for their key, by `order_by`, over each other
    and, in an incremental run, over the version the model already holds (`this`): the rows an
    incremental merge must write. A held version that still wins means nothing changed for that
    key, so it is left out; a tie goes to the held version (nothing rewritten).
    On a full refresh there is nothing held: the winner of each key among all bronze rows.
#}
{% macro new_winners(relation, key, order_by) -%}
    select * exclude (_is_held)
    from (
        select
            {{ relation }}.*,
            false as _is_held
        from {{ relation }}  -- noqa: LT02  (sqlfluff mis-indents the jinja branch below)
        {% if is_incremental() %}
            union all by name
            select
                held.*,
                true as _is_held
            from {{ this }} as held
            where held.{{ key }} in (select fresh.{{ key }} from {{ relation }} as fresh)
        {% endif %}
    ) as candidates
    qualify
        row_number() over (partition by {{ key }} order by {{ order_by }}, _is_held desc) = 1
        and not _is_held
{%- endmacro %}

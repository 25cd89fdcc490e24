{% macro before_month_end(measure, edges, days) -%}
    {#- int_customer_month_usage: the `measure` (sessions or minutes) of a customer-month dated
        fewer than `days` (a SQL expression) days before that month's last day, read from the
        columns <measure>_before_<edge>d kept for each of `edges`. -#}
    case
        when {{ days }} <= 0 then 0
        {%- for edge in edges %}
            when {{ days }} = {{ edge }} then {{ measure }}_before_{{ edge }}d
        {%- endfor %}
        when {{ days }} >= 31 then {{ measure }}_in_month
        else error('no window edge kept at ' || ({{ days }}) || ' days before the month end')
    end
{%- endmacro %}

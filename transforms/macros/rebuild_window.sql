{#-
Incremental models are keyed on the day (or month) their rows describe. Dagster passes the
partition window of a run as vars (`min_date`, inclusive, and `max_date`, exclusive; see
orchestration/defs/features/assets.py). An incremental run rebuilds every row from the
window's first day on, to the end of the loaded data:

- rows inside the window, because their day's raw data was (re)loaded;
- rows after it too, because lags, rolling windows and running totals reach forward: a row
  dated d + 28 reads day d through its 28-day lag. Rows before the window never read it (the
  features are point-in-time correct), so they stay.

Models keyed on calendar months (grain 'month') start one month earlier, because a month's
label (churned during the next month) reads the following month.

Without vars (a plain `dbt build`), an existing incremental model rebuilds all its rows, so the
command-line result equals a full refresh.
-#}

{% macro rebuild_start(grain='day') -%}
    {#- SQL for the first date an incremental run rebuilds, or none for "everything". -#}
    {%- set min_date = var('min_date', none) -%}
    {%- if min_date is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set text = min_date | string -%}
    {%- if not (text | length == 10 and text[4] == '-' and text[7] == '-'
                and (text[:4] ~ text[5:7] ~ text[8:]).isdigit()) -%}
        {{ exceptions.raise_compiler_error(
            "var min_date must be an ISO date (YYYY-MM-DD), got '" ~ min_date ~ "'") }}
    {%- endif -%}
    {%- if grain == 'month' -%}
        {{ return("cast(date_trunc('month', date '" ~ min_date ~ "') - interval 1 month as date)") }}
    {%- elif grain == 'day' -%}
        {{ return("date '" ~ min_date ~ "'") }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("rebuild grain must be 'day' or 'month', got '" ~ grain ~ "'") }}
    {%- endif -%}
{%- endmacro %}


{% macro in_rebuild_window(column, grain='day', lookback=none) -%}
    {#- A predicate: true for the rows this run (re)builds, or reads when `lookback` (an interval
        such as '3 month') widens the window for an upstream input. -#}
    {%- set start = rebuild_start(grain) if is_incremental() else none -%}
    {%- if start is not none -%}
        {{ column }} >= {{ start }}{% if lookback %} - interval {{ lookback }}{% endif %}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}


{% macro get_incremental_rebuild_window_sql(arg_dict) -%}
    {#- Strategy `rebuild_window`: delete the target's rows from the window's first day on (all
        rows without vars), then insert the freshly built ones. Configure each model with
        `rebuild_column` (the date column it is keyed on) and optionally `rebuild_grain`. -#}
    {%- set column = config.require('rebuild_column') -%}
    {%- set start = rebuild_start(config.get('rebuild_grain', 'day')) -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }}
    {%- if start is not none %} where {{ column }} >= {{ start }}{% endif %};
    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

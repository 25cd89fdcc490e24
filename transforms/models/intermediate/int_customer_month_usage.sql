-- Usage per customer and calendar month as of the month's last day: trailing-window sums
-- (7, 30, 60 and 90 days up to month_end), the calendar-month totals of this month and the
-- two before it, and the last session day.
--
-- Two passes, so that the 10M-session scan groups by customer and month once:
-- 1. per customer and month with sessions, the totals and the sessions (and minutes) fewer
--    than x days before that month's last day, for each x a window edge can fall on;
-- 2. each of those rows counts towards the month ends of its month and the three after it.
--    A session d days before its own month's end is gap + d days before a month end that lies
--    gap days later, so a window [lo, hi) of days before the month end takes the sessions
--    with lo - gap <= d < hi - gap: before(hi - gap) - before(lo - gap).
-- With month lengths of 28 to 31 days and windows edges 0, 7, 30, 60 and 90, hi - gap and
-- lo - gap only take the values <= 0, 1, 2, 7, 28, 29, 30 and >= 31 (every session), so
-- those are the edges pass 1 keeps; any other value fails the build instead of miscounting.
-- The edges fall in a month's last week (1, 2, 7) or on its first days (28, 29, 30: d >= 28
-- is day 1, 2 or 3), so pass 1 groups three times: every session into the month's totals,
-- and only the sessions in those two zones (about a third) into the sums per edge. An
-- aggregate costs about the same per row it reads whatever its filter keeps, and twelve
-- filtered sums over all 10M sessions took about 30 % longer than this.
-- A single pass that fans each session out to four month ends groups 4x the rows and took
-- about twice as long on the 10M-session bench world.
{%- set last_week_edges = [1, 2, 7] %}
{%- set first_days_edges = [28, 29, 30] %}
{%- set edges = last_week_edges + first_days_edges %}


with

-- Not materialized: each zone scans the sessions itself. Materialized (DuckDB's choice for a
-- CTE read three times), the copy of 10M rows cost more than two more scans.
usage_events as not materialized (
    select * from {{ ref('stg_usage_events') }}
    -- A session reaches the month ends of its month and the three after it.
    where {{ in_rebuild_window('session_date', 'month', '3 month') }}
),

session_days as not materialized (
    select
        customer_id,
        -- Exact decimal sums: a parallel sum of doubles depends on the order threads add
        -- rows, so two builds would differ in the last bits (and so would the models).
        cast(session_minutes as decimal(18, 6)) as session_minutes,
        -- ln(1 + minutes), rounded to an exact decimal for the same reason (0 minutes is valid).
        cast(ln(1 + session_minutes) as decimal(18, 9)) as log_session_minutes,
        session_date,
        cast(date_trunc('month', session_date) as date) as month_start,
        last_day(session_date) - session_date as days_before_month_end
    from usage_events
),

month_totals as materialized (
    -- Materialized: the last loaded day is read from it too.
    select
        customer_id,
        month_start,
        count(*) as sessions_in_month,
        sum(session_minutes) as minutes_in_month,
        sum(log_session_minutes) as log_minutes_in_month,
        -- Cheaper than the least days before the month end, which each session would compute.
        max(session_date) as last_session_date
    from session_days
    group by customer_id, month_start
),

loaded_until as (
    select max(last_session_date) as last_loaded_day
    from month_totals
),

last_week as (
    -- Sessions fewer than 7 days before their month's end.
    select
        customer_id,
        month_start,
        {%- for edge in last_week_edges[:-1] %}
            count(*) filter (where days_before_month_end < {{ edge }})
                as sessions_before_{{ edge }}d,
            sum(session_minutes) filter (where days_before_month_end < {{ edge }})
                as minutes_before_{{ edge }}d,
        {%- endfor %}
        count(*) as sessions_before_{{ last_week_edges[-1] }}d,
        sum(session_minutes) as minutes_before_{{ last_week_edges[-1] }}d
    from session_days
    where days_before_month_end < {{ last_week_edges[-1] }}
    group by customer_id, month_start
),

first_days as (
    -- Sessions 28 or more days before their month's end: the sessions before an edge x in
    -- 28-30 are the month's sessions less those from x days on.
    select
        customer_id,
        month_start,
        {%- for edge in first_days_edges[1:] %}
            count(*) filter (where days_before_month_end >= {{ edge }})
                as sessions_from_{{ edge }}d,
            sum(session_minutes) filter (where days_before_month_end >= {{ edge }})
                as minutes_from_{{ edge }}d,
        {%- endfor %}
        count(*) as sessions_from_{{ first_days_edges[0] }}d,
        sum(session_minutes) as minutes_from_{{ first_days_edges[0] }}d
    from session_days
    where days_before_month_end >= {{ first_days_edges[0] }}
    group by customer_id, month_start
),

usage_months as (
    select
        {%- for edge in last_week_edges %}
            coalesce(last_week.sessions_before_{{ edge }}d, 0) as sessions_before_{{ edge }}d,
            coalesce(last_week.minutes_before_{{ edge }}d, 0) as minutes_before_{{ edge }}d,
        {%- endfor %}
        {%- for edge in first_days_edges %}
            month_totals.sessions_in_month - coalesce(first_days.sessions_from_{{ edge }}d, 0)
                as sessions_before_{{ edge }}d,
            month_totals.minutes_in_month - coalesce(first_days.minutes_from_{{ edge }}d, 0)
                as minutes_before_{{ edge }}d,
        {%- endfor %}
        month_totals.customer_id,
        month_totals.month_start,
        month_totals.sessions_in_month,
        month_totals.minutes_in_month,
        month_totals.log_minutes_in_month,
        cast(last_day(month_totals.month_start) as date) - month_totals.last_session_date
            as min_days_before_month_end
    from month_totals
    left join last_week
        on
            month_totals.customer_id = last_week.customer_id
            and month_totals.month_start = last_week.month_start
    left join first_days
        on
            month_totals.customer_id = first_days.customer_id
            and month_totals.month_start = first_days.month_start
),

month_offsets as (
    select unnest([0, 1, 2, 3]) as months_ahead
),

fanned_out as (
    select
        usage_months.*,
        month_offsets.months_ahead,
        cast(last_day(usage_months.month_start + to_months(month_offsets.months_ahead)) as date)
            as month_end,
        cast(last_day(usage_months.month_start + to_months(month_offsets.months_ahead)) as date)
        - cast(last_day(usage_months.month_start) as date) as gap_days
    from usage_months
    cross join month_offsets
),

seen as (
    -- Three months back, only sessions in the 90-day window count. Month ends after the last
    -- loaded day close months that are not complete yet: no feature row reads them.
    select fanned_out.* from fanned_out
    cross join loaded_until
    where
        fanned_out.month_end <= loaded_until.last_loaded_day
        and (
            fanned_out.months_ahead <= 2
            or fanned_out.gap_days + fanned_out.min_days_before_month_end < 90
        )
),

final as (
    select
        customer_id,
        month_end,
        cast(sum({{ before_month_end('sessions', edges, '7 - gap_days') }}) as bigint)
            as sessions_7d,
        cast(sum({{ before_month_end('sessions', edges, '30 - gap_days') }}) as bigint)
            as sessions_30d,
        cast(
            sum(
                {{ before_month_end('sessions', edges, '60 - gap_days') }}
                - {{ before_month_end('sessions', edges, '30 - gap_days') }}
            ) as bigint
        ) as sessions_prev_30d,
        cast(sum({{ before_month_end('sessions', edges, '90 - gap_days') }}) as bigint)
            as sessions_90d,
        cast(sum({{ before_month_end('minutes', edges, '7 - gap_days') }}) as double)
            as minutes_7d,
        cast(sum({{ before_month_end('minutes', edges, '30 - gap_days') }}) as double)
            as minutes_30d,
        cast(sum({{ before_month_end('minutes', edges, '90 - gap_days') }}) as double)
            as minutes_90d,
        cast(coalesce(sum(sessions_in_month) filter (where months_ahead = 0), 0) as bigint)
            as sessions_this_month,
        cast(coalesce(sum(sessions_in_month) filter (where months_ahead = 1), 0) as bigint)
            as sessions_month_lag_1,
        cast(coalesce(sum(sessions_in_month) filter (where months_ahead = 2), 0) as bigint)
            as sessions_month_lag_2,
        cast(coalesce(sum(minutes_in_month) filter (where months_ahead = 1), 0) as double)
            as minutes_month_lag_1,
        cast(coalesce(sum(minutes_in_month) filter (where months_ahead = 2), 0) as double)
            as minutes_month_lag_2,
        {%- for months_ahead, name in [(0, 'this_month'), (1, 'month_lag_1'), (2, 'month_lag_2')] %}
            -- Null without a session: one row per customer, month and offset, so the sums are
            -- that row's values.
            cast(
                sum(log_minutes_in_month) filter (where months_ahead = {{ months_ahead }})
                as double
            )
            / sum(sessions_in_month) filter (where months_ahead = {{ months_ahead }})
                as mean_log_minutes_{{ name }},
        {%- endfor %}
        min(gap_days + min_days_before_month_end) as days_since_last_session
    from seen
    group by customer_id, month_end
)

select * from final
where {{ in_rebuild_window('month_end', 'month') }}

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
-- A single pass that fans each session out to four month ends groups 4x the rows and took
-- about twice as long on the 10M-session bench world.
{%- set edges = [1, 2, 7, 28, 29, 30] %}


with

usage_events as (
    select * from {{ ref('stg_usage_events') }}
    -- A session reaches the month ends of its month and the three after it.
    where {{ in_rebuild_window('session_date', 'month', '3 month') }}
),

session_days as (
    select
        customer_id,
        -- Exact decimal sums: a parallel sum of doubles depends on the order threads add
        -- rows, so two builds would differ in the last bits (and so would the models).
        cast(session_minutes as decimal(18, 6)) as session_minutes,
        cast(date_trunc('month', session_date) as date) as month_start,
        last_day(session_date) - session_date as days_before_month_end
    from usage_events
),

usage_months as (
    select
        customer_id,
        month_start,
        count(*) as sessions_in_month,
        sum(session_minutes) as minutes_in_month,
        {%- for edge in edges %}
            count(*) filter (where days_before_month_end < {{ edge }})
                as sessions_before_{{ edge }}d,
            coalesce(sum(session_minutes) filter (where days_before_month_end < {{ edge }}), 0)
                as minutes_before_{{ edge }}d,
        {%- endfor %}
        min(days_before_month_end) as min_days_before_month_end
    from session_days
    group by customer_id, month_start
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
    -- Three months back, only sessions in the 90-day window count.
    select * from fanned_out
    where months_ahead <= 2 or gap_days + min_days_before_month_end < 90
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
        min(gap_days + min_days_before_month_end) as days_since_last_session
    from seen
    group by customer_id, month_end
)

select * from final
where {{ in_rebuild_window('month_end', 'month') }}

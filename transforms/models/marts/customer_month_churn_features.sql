-- Churn features per customer and month, point-in-time correct: every feature of a row
-- uses only data dated on or before that row's month_end; the label uses the next month.
with

customer_months as (
    select * from {{ ref('int_customer_months') }}
),

customers as (
    select * from {{ ref('stg_customers') }}
),

subscription_events as (
    select * from {{ ref('stg_subscription_events') }}
),

usage_events as (
    select * from {{ ref('stg_usage_events') }}
),

usage_daily as (
    select
        customer_id,
        session_date,
        count(*) as sessions,
        sum(session_minutes) as minutes
    from usage_events
    group by customer_id, session_date
),

usage_windows as (
    select
        customer_months.customer_id,
        customer_months.month_start,
        coalesce(sum(usage_daily.sessions) filter (
            where usage_daily.session_date > customer_months.month_end - 7
        ), 0) as sessions_7d,
        coalesce(sum(usage_daily.sessions) filter (
            where usage_daily.session_date > customer_months.month_end - 30
        ), 0) as sessions_30d,
        coalesce(sum(usage_daily.sessions) filter (
            where usage_daily.session_date <= customer_months.month_end - 30
            and usage_daily.session_date > customer_months.month_end - 60
        ), 0) as sessions_prev_30d,
        coalesce(sum(usage_daily.sessions), 0) as sessions_90d,
        coalesce(sum(usage_daily.minutes) filter (
            where usage_daily.session_date > customer_months.month_end - 30
        ), 0) as minutes_30d,
        coalesce(sum(usage_daily.minutes), 0) as minutes_90d,
        max(usage_daily.session_date) as last_session_date
    from customer_months
    left join usage_daily
        on
            customer_months.customer_id = usage_daily.customer_id
            and usage_daily.session_date <= customer_months.month_end
            and usage_daily.session_date > customer_months.month_end - 90
    group by customer_months.customer_id, customer_months.month_start
),

charges_90d as (
    select
        customer_months.customer_id,
        customer_months.month_start,
        sum(subscription_events.amount_charged) as amount_charged_90d
    from customer_months
    inner join subscription_events
        on
            customer_months.customer_id = subscription_events.customer_id
            and subscription_events.event_date <= customer_months.month_end
            and subscription_events.event_date > customer_months.month_end - 90
    group by customer_months.customer_id, customer_months.month_start
),

price_history as (
    select
        customer_id,
        event_date,
        monthly_price
    from subscription_events
),

price_at_month_end as (
    select
        customer_months.customer_id,
        customer_months.month_start,
        price_history.monthly_price
    from customer_months
    asof left join price_history
        on
            customer_months.customer_id = price_history.customer_id
            and customer_months.month_end >= price_history.event_date
),

final as (
    select
        customer_months.customer_id * 1000000
        + year(customer_months.month_start) * 100
        + month(customer_months.month_start) as customer_month_id,
        customer_months.customer_id,
        customer_months.month_start,
        customer_months.month_end,
        customers.segment,
        customers.region,
        customers.plan,
        customers.acquisition_channel,
        round(date_diff('day', customers.signup_date, customer_months.month_end) / 30.44, 2)
            as tenure_months,
        least(date_diff('day', customer_months.data_first_day, customer_months.month_end) + 1, 90)
            as observed_days_90d,
        coalesce(price_at_month_end.monthly_price, customers.signup_monthly_price) as monthly_price,
        coalesce(price_at_month_end.monthly_price, customers.signup_monthly_price)
        / customers.signup_monthly_price - 1 as price_change_pct,
        usage_windows.sessions_7d,
        usage_windows.sessions_30d,
        usage_windows.sessions_prev_30d,
        usage_windows.sessions_90d,
        usage_windows.sessions_30d - usage_windows.sessions_prev_30d as sessions_trend_30d,
        usage_windows.minutes_30d,
        usage_windows.minutes_90d,
        coalesce(
            date_diff('day', usage_windows.last_session_date, customer_months.month_end), 90
        ) as days_since_last_session,
        coalesce(charges_90d.amount_charged_90d, 0) as amount_charged_90d,
        customer_months.churned_next_month
    from customer_months
    inner join customers on customer_months.customer_id = customers.customer_id
    left join usage_windows
        on
            customer_months.customer_id = usage_windows.customer_id
            and customer_months.month_start = usage_windows.month_start
    left join charges_90d
        on
            customer_months.customer_id = charges_90d.customer_id
            and customer_months.month_start = charges_90d.month_start
    left join price_at_month_end
        on
            customer_months.customer_id = price_at_month_end.customer_id
            and customer_months.month_start = price_at_month_end.month_start
)

select * from final

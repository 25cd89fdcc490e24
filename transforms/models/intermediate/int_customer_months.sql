-- One row per customer and complete calendar month in which the customer was still
-- subscribed at month end, with the label "cancelled during the next month". The cancellation
-- date itself is not a column: it is unknown at month end, and an incremental run does not
-- revisit rows older than the month before its window (macros/rebuild_window.sql).
with

customers as (
    select * from {{ ref('stg_customers') }}
),

subscription_events as (
    select * from {{ ref('stg_subscription_events') }}
),

usage_events as (
    select * from {{ ref('stg_usage_events') }}
),

data_window as (
    select
        min(session_date) as first_day,
        max(session_date) as last_day
    from usage_events
),

months as (
    select
        cast(month_start as date) as month_start,
        cast(month_start + interval 1 month - interval 1 day as date) as month_end,
        cast(month_start + interval 2 month - interval 1 day as date) as next_month_end
    from (
        select
            unnest(
                generate_series(
                    date_trunc('month', first_day),
                    date_trunc('month', last_day),
                    interval 1 month
                )
            ) as month_start
        from data_window
    ) as calendar
),

cancellations as (
    select
        customer_id,
        min(event_date) as cancel_date
    from subscription_events
    where event_type = 'cancel'
    group by customer_id
),

final as (
    select
        customers.customer_id,
        months.month_start,
        months.month_end,
        customers.signup_date,
        data_window.first_day as data_first_day,
        case
            when months.next_month_end > data_window.last_day then null
            else coalesce(cancellations.cancel_date <= months.next_month_end, false)
        end as churned_next_month
    from customers
    cross join months
    cross join data_window
    left join cancellations on customers.customer_id = cancellations.customer_id
    where
        months.month_end <= data_window.last_day
        and customers.signup_date <= months.month_end
        and (cancellations.cancel_date is null or cancellations.cancel_date > months.month_end)
)

select * from final
where {{ in_rebuild_window('month_start', 'month') }}

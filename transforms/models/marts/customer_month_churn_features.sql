-- Churn features per customer and month, point-in-time correct: every feature of a row
-- uses only data dated on or before that row's month_end (timestamps: before the midnight
-- after it); the label uses the next month.
-- Usage windows come from int_customer_month_usage (see there why it fans sessions out).
with

customer_months as (
    select * from {{ ref('int_customer_months') }}
    where {{ in_rebuild_window('month_start', 'month') }}
),

customers as (
    select * from {{ ref('stg_customers') }}
),

subscription_events as (
    select * from {{ ref('stg_subscription_events') }}
),

customer_month_usage as (
    select * from {{ ref('int_customer_month_usage') }}
),

support_tickets as (
    select * from {{ ref('stg_support_tickets') }}
),

nps_responses as (
    select * from {{ ref('stg_nps_responses') }}
),

as_of as (
    select
        customer_id,
        month_start,
        month_end,
        -- Timestamps strictly before this instant are known at the end of month_end.
        cast(month_end + 1 as timestamp) as known_before
    from customer_months
),

month_offsets as (
    select unnest([0, 1, 2, 3]) as months_ahead
),

charges as (
    -- Events with an amount: charges, and signups with their first charge. Sums are over
    -- decimals, which are exact, so that every build gives bit-identical features (see
    -- int_customer_month_usage).
    select
        customer_id,
        event_date,
        cast(amount_charged as decimal(18, 4)) as amount_charged
    from subscription_events
    where
        amount_charged != 0
        -- A charge reaches the month ends of its month and the three after it.
        and {{ in_rebuild_window('event_date', 'month', '3 month') }}
),

charge_month_ends as (
    -- Same fan-out as int_customer_month_usage: a charge counts towards the month ends of
    -- its own month and the three after it.
    select
        charges.customer_id,
        charges.amount_charged,
        cast(last_day(charges.event_date + to_months(month_offsets.months_ahead)) as date)
            as month_end,
        cast(last_day(charges.event_date + to_months(month_offsets.months_ahead)) as date)
        - charges.event_date as days_before_month_end
    from charges
    cross join month_offsets
),

charges_by_month_end as (
    select
        customer_id,
        month_end,
        sum(amount_charged) filter (where days_before_month_end < 30) as amount_charged_30d,
        sum(amount_charged) as amount_charged_90d
    from charge_month_ends
    where days_before_month_end < 90
    group by customer_id, month_end
),

price_points as (
    -- The events that change a customer's price: every price change, and any event whose
    -- price differs from the one before it (the signup price, for the first event). The
    -- price as of a day is that of the latest point on or before it, else the signup price.
    -- Most customers never change price and have no point, so the join below reads a
    -- point or two for a few customer-months (keeping every customer's first event as a
    -- point took about 20 % of the mart's time; two ASOF joins over all events, more).
    select
        subscription_events.customer_id,
        subscription_events.event_id,
        subscription_events.event_date,
        subscription_events.event_type,
        subscription_events.monthly_price
    from subscription_events
    inner join customers on subscription_events.customer_id = customers.customer_id
    qualify
        subscription_events.event_type = 'price_change'
        or subscription_events.monthly_price is distinct from coalesce(
            lag(subscription_events.monthly_price) over (
                partition by subscription_events.customer_id
                order by subscription_events.event_date, subscription_events.event_id
            ),
            customers.signup_monthly_price
        )
),

prices as (
    -- Prices on month_end and 90 days before, and the price changes up to month_end.
    select
        as_of.customer_id,
        as_of.month_start,
        arg_max(
            price_points.monthly_price, struct_pack(price_points.event_date, price_points.event_id)
        ) as monthly_price_now,
        arg_max(
            price_points.monthly_price, struct_pack(price_points.event_date, price_points.event_id)
        ) filter (where price_points.event_date <= as_of.month_end - 90) as monthly_price_90d_ago,
        count(*) filter (where price_points.event_type = 'price_change') as price_changes_to_date,
        count(*) filter (
            where
            price_points.event_type = 'price_change'
            and price_points.event_date > as_of.month_end - 90
        ) as price_changes_90d,
        max(price_points.event_date) filter (where price_points.event_type = 'price_change')
            as latest_price_change_date
    from as_of
    inner join price_points
        on
            as_of.customer_id = price_points.customer_id
            and as_of.month_end >= price_points.event_date
    group by as_of.customer_id, as_of.month_start
),

ticket_windows as (
    select
        as_of.customer_id,
        as_of.month_start,
        count(*) filter (
            where support_tickets.opened_date > as_of.month_end - 30
        ) as tickets_30d,
        count(*) as tickets_90d,
        count(*) filter (where support_tickets.is_escalated) as escalated_tickets_90d,
        avg(cast(support_tickets.wait_minutes as decimal(18, 9))) filter (
            where
            support_tickets.opened_date > as_of.month_end - 30
            and support_tickets.picked_up_at < as_of.known_before
        ) as mean_ticket_wait_minutes_30d,
        avg(cast(support_tickets.wait_minutes as decimal(18, 9))) filter (
            where support_tickets.picked_up_at < as_of.known_before
        ) as mean_ticket_wait_minutes_90d,
        avg(cast(support_tickets.satisfaction as decimal(18, 4))) filter (
            where support_tickets.resolved_at < as_of.known_before
        ) as mean_ticket_satisfaction_90d
    from as_of
    inner join support_tickets
        on
            as_of.customer_id = support_tickets.customer_id
            and as_of.month_end >= support_tickets.opened_date
            and as_of.month_end - 90 < support_tickets.opened_date
    group by as_of.customer_id, as_of.month_start
),

nps_latest as (
    -- The scores of the latest two answers on or before month_end, latest first (the higher
    -- response_id on the same day).
    select
        as_of.customer_id,
        as_of.month_start,
        max_by(
            nps_responses.nps_score,
            struct_pack(nps_responses.response_date, nps_responses.response_id),
            2
        ) as latest_nps_scores,
        max(nps_responses.response_date) as latest_nps_date
    from as_of
    inner join nps_responses
        on
            as_of.customer_id = nps_responses.customer_id
            and as_of.month_end >= nps_responses.response_date
    group by as_of.customer_id, as_of.month_start
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
        coalesce(prices.monthly_price_now, customers.signup_monthly_price) as monthly_price,
        coalesce(prices.monthly_price_now, customers.signup_monthly_price)
        / customers.signup_monthly_price - 1 as price_change_pct,
        cast(coalesce(customer_month_usage.sessions_7d, 0) as hugeint) as sessions_7d,
        cast(coalesce(customer_month_usage.sessions_30d, 0) as hugeint) as sessions_30d,
        cast(coalesce(customer_month_usage.sessions_prev_30d, 0) as hugeint) as sessions_prev_30d,
        cast(coalesce(customer_month_usage.sessions_90d, 0) as hugeint) as sessions_90d,
        cast(
            coalesce(customer_month_usage.sessions_30d, 0)
            - coalesce(customer_month_usage.sessions_prev_30d, 0)
            as hugeint
        ) as sessions_trend_30d,
        coalesce(customer_month_usage.minutes_30d, 0) as minutes_30d,
        coalesce(customer_month_usage.minutes_90d, 0) as minutes_90d,
        least(coalesce(customer_month_usage.days_since_last_session, 90), 90)
            as days_since_last_session,
        cast(coalesce(charges_by_month_end.amount_charged_90d, 0) as double) as amount_charged_90d,
        customer_months.churned_next_month,
        -- Added for issue #4; the columns above keep their names and meaning.
        coalesce(customer_month_usage.minutes_7d, 0) as minutes_7d,
        cast(coalesce(charges_by_month_end.amount_charged_30d, 0) as double) as amount_charged_30d,
        coalesce(customer_month_usage.sessions_this_month, 0) as sessions_this_month,
        coalesce(customer_month_usage.sessions_month_lag_1, 0) as sessions_month_lag_1,
        coalesce(customer_month_usage.sessions_month_lag_2, 0) as sessions_month_lag_2,
        coalesce(customer_month_usage.minutes_month_lag_1, 0) as minutes_month_lag_1,
        coalesce(customer_month_usage.minutes_month_lag_2, 0) as minutes_month_lag_2,
        -- Null without a session in that month.
        customer_month_usage.mean_log_minutes_this_month,
        customer_month_usage.mean_log_minutes_month_lag_1,
        customer_month_usage.mean_log_minutes_month_lag_2,
        coalesce(prices.monthly_price_90d_ago, customers.signup_monthly_price)
            as monthly_price_90d_ago,
        coalesce(prices.monthly_price_now, customers.signup_monthly_price)
        / coalesce(prices.monthly_price_90d_ago, customers.signup_monthly_price)
        - 1 as price_change_pct_90d,
        coalesce(prices.price_changes_to_date, 0) as price_changes_to_date,
        coalesce(prices.price_changes_90d, 0) as price_changes_90d,
        -- How long ago the latest change was: a rise's churn shock fades over months.
        date_diff('day', prices.latest_price_change_date, customer_months.month_end)
            as days_since_price_change,
        coalesce(ticket_windows.tickets_30d, 0) as tickets_30d,
        coalesce(ticket_windows.tickets_90d, 0) as tickets_90d,
        coalesce(ticket_windows.escalated_tickets_90d, 0) as escalated_tickets_90d,
        ticket_windows.mean_ticket_wait_minutes_30d,
        ticket_windows.mean_ticket_wait_minutes_90d,
        ticket_windows.mean_ticket_satisfaction_90d,
        nps_latest.latest_nps_scores[1] as latest_nps_score,
        nps_latest.latest_nps_scores[2] as previous_nps_score,
        nps_latest.latest_nps_scores[1] - nps_latest.latest_nps_scores[2] as nps_trend,
        date_diff('day', nps_latest.latest_nps_date, customer_months.month_end)
            as days_since_latest_nps
    from customer_months
    inner join customers on customer_months.customer_id = customers.customer_id
    left join customer_month_usage
        on
            customer_months.customer_id = customer_month_usage.customer_id
            and customer_months.month_end = customer_month_usage.month_end
    left join charges_by_month_end
        on
            customer_months.customer_id = charges_by_month_end.customer_id
            and customer_months.month_end = charges_by_month_end.month_end
    left join prices
        on
            customer_months.customer_id = prices.customer_id
            and customer_months.month_start = prices.month_start
    left join ticket_windows
        on
            customer_months.customer_id = ticket_windows.customer_id
            and customer_months.month_start = ticket_windows.month_start
    left join nps_latest
        on
            customer_months.customer_id = nps_latest.customer_id
            and customer_months.month_start = nps_latest.month_start
)

select * from final
where {{ in_rebuild_window('month_start', 'month') }}

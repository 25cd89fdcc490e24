-- One row per day and KPI (long format): the raw daily value of every business KPI.
-- Every value of day d uses only rows dated on or before d (timestamps before d + 1), and
-- trailing windows are trailing, so a day's value never changes when later data arrives.
with

customers as (
    select * from {{ ref('stg_customers') }}
),

subscription_events as (
    select * from {{ ref('stg_subscription_events') }}
),

marketing_spend as (
    select * from {{ ref('stg_marketing_spend') }}
),

onboarding_stage_runs as (
    select * from {{ ref('stg_onboarding_stage_runs') }}
),

support_tickets as (
    select * from {{ ref('stg_support_tickets') }}
),

demand_orders as (
    select * from {{ ref('stg_demand_orders') }}
),

inventory_levels as (
    select * from {{ ref('stg_inventory_levels') }}
),

calendar as (
    select
        cast(unnest(generate_series(min(event_date), max(event_date), interval 1 day)) as date)
            as kpi_date
    from subscription_events
),

cancellations as (
    select
        customer_id,
        min(event_date) as cancel_date
    from subscription_events
    where event_type = 'cancel'
    group by customer_id
),

customer_counts as (
    -- Signups and cancellations per day over all history, so that customers who signed up
    -- before the data window are counted as active.
    select
        change_date,
        sum(signups) as signups,
        sum(paid_signups) as paid_signups,
        sum(cancels) as cancels
    from (
        select
            signup_date as change_date,
            1 as signups,
            cast(acquisition_channel != 'organic' as integer) as paid_signups,
            0 as cancels
        from customers
        union all
        select
            cancel_date as change_date,
            0 as signups,
            0 as paid_signups,
            1 as cancels
        from cancellations
    ) as changes
    group by change_date
),

active_customers as (
    select
        change_date,
        sum(signups - cancels) over (order by change_date) as active_customers
    from customer_counts
),

revenue as (
    select
        event_date,
        sum(amount_charged) as revenue
    from subscription_events
    group by event_date
),

spend as (
    select
        spend_date,
        sum(spend) as spend,
        sum(clicks) as clicks,
        sum(conversions) as conversions
    from marketing_spend
    group by spend_date
),

onboarding_cases as (
    select
        case_id,
        min(queued_at) filter (
            where stage = 'application_review' and attempt = 1
        ) as case_opened_at,
        max(ended_at) filter (where ends_case) as case_closed_at
    from onboarding_stage_runs
    group by case_id
),

onboarding_daily as (
    select
        cast(case_closed_at as date) as closed_date,
        count(*) as cases_closed,
        avg(date_diff('second', case_opened_at, case_closed_at) / 3600.0) as cycle_time_hours
    from onboarding_cases
    where case_closed_at is not null
    group by closed_date
),

tickets_daily as (
    select
        change_date,
        sum(opened) as opened,
        sum(resolved) as resolved,
        sum(picked_up) as picked_up,
        sum(picked_up_wait_minutes) as picked_up_wait_minutes
    from (
        select
            opened_date as change_date,
            1 as opened,
            0 as resolved,
            0 as picked_up,
            0.0 as picked_up_wait_minutes
        from support_tickets
        union all
        select
            resolved_date as change_date,
            0 as opened,
            1 as resolved,
            0 as picked_up,
            0.0 as picked_up_wait_minutes
        from support_tickets
        where resolved_date is not null
        union all
        select
            cast(picked_up_at as date) as change_date,
            0 as opened,
            0 as resolved,
            1 as picked_up,
            wait_minutes as picked_up_wait_minutes
        from support_tickets
    ) as ticket_changes
    group by change_date
),

orders_daily as (
    select
        order_date,
        sum(orders) as units_ordered,
        sum(revenue) as product_revenue
    from demand_orders
    group by order_date
),

stock_daily as (
    select
        snapshot_date,
        sum(on_hand) as units_on_hand
    from inventory_levels
    group by snapshot_date
),

daily as (
    select
        calendar.kpi_date,
        coalesce(revenue.revenue, 0) as revenue,
        active_customers.active_customers,
        coalesce(customer_counts.signups, 0) as new_customers,
        coalesce(customer_counts.paid_signups, 0) as new_paid_customers,
        coalesce(customer_counts.cancels, 0) as cancelled_customers,
        coalesce(spend.spend, 0) as spend,
        spend.clicks,
        spend.conversions,
        coalesce(onboarding_daily.cases_closed, 0) as cases_closed,
        onboarding_daily.cycle_time_hours,
        coalesce(tickets_daily.opened, 0) as tickets_opened,
        coalesce(tickets_daily.resolved, 0) as tickets_resolved,
        coalesce(tickets_daily.picked_up, 0) as tickets_picked_up,
        tickets_daily.picked_up_wait_minutes,
        orders_daily.units_ordered,
        orders_daily.product_revenue,
        stock_daily.units_on_hand
    from calendar
    asof left join active_customers on calendar.kpi_date >= active_customers.change_date
    left join customer_counts on calendar.kpi_date = customer_counts.change_date
    left join revenue on calendar.kpi_date = revenue.event_date
    left join spend on calendar.kpi_date = spend.spend_date
    left join onboarding_daily on calendar.kpi_date = onboarding_daily.closed_date
    left join tickets_daily on calendar.kpi_date = tickets_daily.change_date
    left join orders_daily on calendar.kpi_date = orders_daily.order_date
    left join stock_daily on calendar.kpi_date = stock_daily.snapshot_date
),

trailing_windows as (
    select
        *,
        sum(revenue)
            over (order by kpi_date rows between 29 preceding and current row)
            as revenue_30d,
        sum(spend) over (order by kpi_date rows between 29 preceding and current row) as spend_30d,
        sum(new_paid_customers)
            over (order by kpi_date rows between 29 preceding and current row)
            as new_paid_customers_30d,
        sum(cancelled_customers)
            over (order by kpi_date rows between 29 preceding and current row)
            as cancelled_customers_30d,
        sum(units_ordered)
            over (order by kpi_date rows between 27 preceding and current row)
            as units_ordered_28d,
        avg(units_on_hand)
            over (order by kpi_date rows between 27 preceding and current row)
            as mean_units_on_hand_28d,
        sum(tickets_opened - tickets_resolved) over (order by kpi_date) as ticket_backlog,
        -- Tickets opened before the first day are not in the data, so the backlog starts at 0.
        sum(tickets_picked_up)
            over (order by kpi_date rows between 29 preceding and current row)
            as tickets_picked_up_30d,
        sum(picked_up_wait_minutes)
            over (order by kpi_date rows between 29 preceding and current row)
            as picked_up_wait_minutes_30d
    from daily
),

kpis as (
    select
        kpi_date,
        revenue,
        cast(active_customers as double) as active_customers,
        cast(new_customers as double) as new_customers,
        revenue / nullif(active_customers, 0) as revenue_per_customer,
        spend as marketing_spend,
        spend_30d / nullif(new_paid_customers_30d, 0) as cac_30d,
        -- LTV = monthly revenue per customer / monthly churn rate, both over the last 30 days.
        (revenue_30d / nullif(active_customers, 0))
        / nullif(cancelled_customers_30d / nullif(active_customers, 0), 0)
        / nullif(spend_30d / nullif(new_paid_customers_30d, 0), 0) as ltv_to_cac_30d,
        conversions / nullif(clicks, 0) as click_conversion_rate,
        cast(cases_closed as double) as onboarding_cases_closed,
        cycle_time_hours as onboarding_cycle_time_hours,
        cast(tickets_opened as double) as tickets_opened,
        cast(ticket_backlog as double) as ticket_backlog,
        picked_up_wait_minutes_30d / nullif(tickets_picked_up_30d, 0) as ticket_wait_minutes_30d,
        product_revenue,
        cast(units_ordered as double) as units_ordered,
        -- Annualised: units ordered per year / mean units on hand, over the last 28 days.
        365.0 * units_ordered_28d / 28 / nullif(mean_units_on_hand_28d, 0) as inventory_turns
    from trailing_windows
),

departments as (
    select
        department_of_kpi.kpi,
        department_of_kpi.department
    from (
        values
        ('revenue', 'customers'),
        ('active_customers', 'customers'),
        ('new_customers', 'customers'),
        ('revenue_per_customer', 'customers'),
        ('marketing_spend', 'marketing'),
        ('cac_30d', 'marketing'),
        ('ltv_to_cac_30d', 'marketing'),
        ('click_conversion_rate', 'marketing'),
        ('onboarding_cases_closed', 'operations'),
        ('onboarding_cycle_time_hours', 'operations'),
        ('tickets_opened', 'support'),
        ('ticket_backlog', 'support'),
        ('ticket_wait_minutes_30d', 'support'),
        ('product_revenue', 'demand'),
        ('units_ordered', 'demand'),
        ('inventory_turns', 'supply_chain')
    ) as department_of_kpi (kpi, department)
),

final as (
    -- Long format: one row per day and KPI, so the mart's window statistics are written once.
    select
        kpis.kpi_date,
        departments.department,
        departments.kpi,
        cast(
            case departments.kpi
                when 'revenue' then kpis.revenue
                when 'active_customers' then kpis.active_customers
                when 'new_customers' then kpis.new_customers
                when 'revenue_per_customer' then kpis.revenue_per_customer
                when 'marketing_spend' then kpis.marketing_spend
                when 'cac_30d' then kpis.cac_30d
                when 'ltv_to_cac_30d' then kpis.ltv_to_cac_30d
                when 'click_conversion_rate' then kpis.click_conversion_rate
                when 'onboarding_cases_closed' then kpis.onboarding_cases_closed
                when 'onboarding_cycle_time_hours' then kpis.onboarding_cycle_time_hours
                when 'tickets_opened' then kpis.tickets_opened
                when 'ticket_backlog' then kpis.ticket_backlog
                when 'ticket_wait_minutes_30d' then kpis.ticket_wait_minutes_30d
                when 'product_revenue' then kpis.product_revenue
                when 'units_ordered' then kpis.units_ordered
                when 'inventory_turns' then kpis.inventory_turns
            end as double
        ) as kpi_value
    from kpis
    cross join departments
)

select * from final
where {{ in_rebuild_window('kpi_date') }}

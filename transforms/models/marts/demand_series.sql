-- The forecasters' input: one row per product, region and day, with calendar features and
-- lagged orders. Lags and rolling means use days before the row's day only, so a row's
-- features are known on the morning of order_date; orders is the target.
with

demand_orders as (
    select * from {{ ref('stg_demand_orders') }}
),

products as (
    select * from {{ ref('stg_products') }}
),

calendar as (
    select
        cast(unnest(generate_series(min(order_date), max(order_date), interval 1 day)) as date)
            as order_date
    from demand_orders
),

series as (
    select distinct
        product_id,
        region
    from demand_orders
),

spine as (
    -- Dense product x region x day grid, so that row-based lags are day-based lags.
    select
        series.product_id,
        series.region,
        calendar.order_date
    from series
    cross join calendar
),

joined as (
    select
        spine.product_id,
        spine.region,
        spine.order_date,
        products.category,
        products.list_price,
        demand_orders.orders,
        demand_orders.unit_price,
        demand_orders.is_promo,
        demand_orders.revenue
    from spine
    inner join products on spine.product_id = products.product_id
    left join demand_orders
        on
            spine.product_id = demand_orders.product_id
            and spine.region = demand_orders.region
            and spine.order_date = demand_orders.order_date
),

final as (
    select
        product_id || '/' || region as series_id,
        product_id,
        region,
        order_date,
        category,
        orders,
        unit_price,
        list_price,
        unit_price / nullif(list_price, 0) as price_index,
        is_promo,
        revenue,
        isodow(order_date) as day_of_week,
        isodow(order_date) >= 6 as is_weekend,
        weekofyear(order_date) as week_of_year,
        month(order_date) as month_of_year,
        dayofyear(order_date) as day_of_year,
        date_diff('day', min(order_date) over (), order_date) as days_since_start,
        lag(orders, 1) over by_series as orders_lag_1d,
        lag(orders, 7) over by_series as orders_lag_7d,
        lag(orders, 14) over by_series as orders_lag_14d,
        lag(orders, 28) over by_series as orders_lag_28d,
        lag(orders, 364) over by_series as orders_lag_364d,
        avg(orders) over (
            partition by product_id, region
            order by order_date rows between 7 preceding and 1 preceding
        ) as orders_mean_prev_7d,
        avg(orders) over (
            partition by product_id, region
            order by order_date rows between 28 preceding and 1 preceding
        ) as orders_mean_prev_28d,
        lag(unit_price, 1) over by_series as unit_price_lag_1d
    from joined
    window by_series as (partition by product_id, region order by order_date)
)

select * from final
where {{ in_rebuild_window('order_date') }}

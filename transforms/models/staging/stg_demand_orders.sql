with

source as (
    select * from {{ source('raw', 'demand_orders') }}
),

final as (
    select
        date as order_date,
        product_id,
        region,
        orders,
        unit_price,
        promo as is_promo,
        revenue
    from source
)

select * from final

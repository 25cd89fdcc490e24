with

source as (
    select * from {{ source('raw', 'purchase_orders') }}
),

final as (
    select
        po_id,
        supplier_id,
        product_id,
        order_date,
        promised_date,
        delivered_date,
        quantity,
        disrupted as is_disrupted,
        date_diff('day', order_date, delivered_date) as lead_time_days,
        date_diff('day', promised_date, delivered_date) as days_late
    from source
)

select * from final

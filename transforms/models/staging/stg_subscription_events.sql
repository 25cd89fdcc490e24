with

source as (
    select * from {{ source('raw', 'subscription_events') }}
),

final as (
    select
        event_id,
        customer_id,
        event_date,
        event_type,
        amount as amount_charged,
        monthly_price
    from source
)

select * from final

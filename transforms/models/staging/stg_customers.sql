with

source as (
    select * from {{ source('raw', 'customers') }}
),

final as (
    select
        customer_id,
        signup_date,
        segment,
        region,
        acquisition_channel,
        plan,
        monthly_price as signup_monthly_price
    from source
)

select * from final

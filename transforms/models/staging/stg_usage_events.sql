with

source as (
    select * from {{ source('raw', 'usage_events') }}
),

final as (
    select
        session_id,
        customer_id,
        session_date,
        minutes as session_minutes
    from source
)

select * from final

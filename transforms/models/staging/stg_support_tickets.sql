with

source as (
    select * from {{ source('raw', 'support_tickets') }}
),

final as (
    select
        ticket_id,
        customer_id,
        opened_date,
        opened_at,
        -- The wait is known once an agent picks the ticket up, not when it is opened.
        opened_at + to_microseconds(cast(wait_minutes * 60000000 as bigint)) as picked_up_at,
        resolved_at,
        cast(resolved_at as date) as resolved_date,
        priority,
        channel as contact_channel,
        agent_id,
        wait_minutes,
        handle_minutes,
        escalated as is_escalated,
        satisfaction
    from source
)

select * from final

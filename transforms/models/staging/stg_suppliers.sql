with

source as (
    select * from {{ source('raw', 'suppliers') }}
),

final as (
    select
        supplier_id,
        tier,
        supplies_to as supplies_to_supplier_id,
        region,
        capacity_units_per_day,
        promised_lead_time_days
    from source
)

select * from final

with

source as (
    select * from {{ source('raw', 'inventory_levels') }}
),

final as (
    select
        date as snapshot_date,
        product_id,
        on_hand,
        on_order,
        backorders
    from source
)

select * from final

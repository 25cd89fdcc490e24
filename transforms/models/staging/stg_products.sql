with

source as (
    select * from {{ source('raw', 'products') }}
),

final as (
    select
        product_id,
        product_name,
        category,
        list_price
    from source
)

select * from final

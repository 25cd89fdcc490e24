with

source as (
    select * from {{ source('raw', 'marketing_spend') }}
),

final as (
    select
        date as spend_date,
        channel,
        spend,
        impressions,
        clicks,
        conversions
    from source
)

select * from final

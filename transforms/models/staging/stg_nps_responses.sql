with

source as (
    select * from {{ source('raw', 'nps_responses') }}
),

final as (
    select
        response_id,
        customer_id,
        response_date,
        score as nps_score,
        channel as survey_channel,
        case
            when score >= 9 then 'promoter'
            when score >= 7 then 'passive'
            else 'detractor'
        end as nps_category
    from source
)

select * from final

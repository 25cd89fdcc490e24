with

source as (
    select * from {{ source('raw', 'employees') }}
),

final as (
    select
        employee_id,
        team,
        role,
        hire_date,
        termination_date,
        skill_product,
        skill_technical,
        skill_communication,
        salary
    from source
)

select * from final

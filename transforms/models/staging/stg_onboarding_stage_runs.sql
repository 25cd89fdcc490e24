with

source as (
    select * from {{ source('raw', 'onboarding_stage_runs') }}
),

final as (
    select
        run_id,
        case_id,
        customer_id,
        stage,
        attempt,
        queued_at,
        started_at,
        ended_at,
        ended_date,
        outcome,
        handled_by as employee_id,
        date_diff('second', queued_at, started_at) / 60.0 as queue_minutes,
        date_diff('second', started_at, ended_at) / 60.0 as work_minutes,
        -- A case ends when account setup passes or any stage rejects it.
        (stage = 'account_setup' and outcome = 'passed') or outcome = 'rejected' as ends_case
    from source
)

select * from final

-- The marketing-mix (ROI) model's input: one row per paid channel and day with spend,
-- funnel counts, geometric adstock for decay rates 0.1 to 0.8 and a trailing spend scale for
-- a saturation curve. Adstock with decay r on day t is sum over k = 0..29 of
-- spend(t - k) * r^k: the recursion a(t) = spend(t) + r * a(t - 1) truncated after 30 days
-- (0.8^30 < 0.002), written as a windowed join so it needs no recursive CTE.
with

marketing_spend as (
    select * from {{ ref('stg_marketing_spend') }}
),

customers as (
    select * from {{ ref('stg_customers') }}
),

calendar as (
    select
        cast(unnest(generate_series(min(spend_date), max(spend_date), interval 1 day)) as date)
            as spend_date
    from marketing_spend
),

channels as (
    select distinct channel from marketing_spend
),

channel_days as (
    select
        channels.channel,
        calendar.spend_date,
        coalesce(marketing_spend.spend, 0) as spend,
        coalesce(marketing_spend.impressions, 0) as impressions,
        coalesce(marketing_spend.clicks, 0) as clicks,
        coalesce(marketing_spend.conversions, 0) as conversions
    from channels
    cross join calendar
    left join marketing_spend
        on
            channels.channel = marketing_spend.channel
            and calendar.spend_date = marketing_spend.spend_date
),

new_customers as (
    select
        acquisition_channel as channel,
        signup_date,
        count(*) as new_customers
    from customers
    group by acquisition_channel, signup_date
),

adstock as (
    select
        channel_days.channel,
        channel_days.spend_date,
        sum(spend_history.spend * pow(0.1, channel_days.spend_date - spend_history.spend_date))
            as adstock_decay_0_1,
        sum(spend_history.spend * pow(0.2, channel_days.spend_date - spend_history.spend_date))
            as adstock_decay_0_2,
        sum(spend_history.spend * pow(0.3, channel_days.spend_date - spend_history.spend_date))
            as adstock_decay_0_3,
        sum(spend_history.spend * pow(0.4, channel_days.spend_date - spend_history.spend_date))
            as adstock_decay_0_4,
        sum(spend_history.spend * pow(0.5, channel_days.spend_date - spend_history.spend_date))
            as adstock_decay_0_5,
        sum(spend_history.spend * pow(0.6, channel_days.spend_date - spend_history.spend_date))
            as adstock_decay_0_6,
        sum(spend_history.spend * pow(0.7, channel_days.spend_date - spend_history.spend_date))
            as adstock_decay_0_7,
        sum(spend_history.spend * pow(0.8, channel_days.spend_date - spend_history.spend_date))
            as adstock_decay_0_8
    from channel_days
    inner join channel_days as spend_history
        on
            channel_days.channel = spend_history.channel
            and channel_days.spend_date >= spend_history.spend_date
            and channel_days.spend_date - 30 < spend_history.spend_date
    group by channel_days.channel, channel_days.spend_date
),

final as (
    select
        channel_days.channel,
        channel_days.spend_date,
        channel_days.spend,
        channel_days.impressions,
        channel_days.clicks,
        channel_days.conversions,
        coalesce(new_customers.new_customers, 0) as new_customers,
        channel_days.clicks / nullif(channel_days.impressions, 0) as click_through_rate,
        channel_days.conversions / nullif(channel_days.clicks, 0) as click_conversion_rate,
        channel_days.spend / nullif(channel_days.conversions, 0) as cost_per_conversion,
        adstock.adstock_decay_0_1,
        adstock.adstock_decay_0_2,
        adstock.adstock_decay_0_3,
        adstock.adstock_decay_0_4,
        adstock.adstock_decay_0_5,
        adstock.adstock_decay_0_6,
        adstock.adstock_decay_0_7,
        adstock.adstock_decay_0_8,
        -- Mean daily spend over the last 365 days: divide adstock by it before a saturation
        -- curve (x / (x + k) or Hill) so that k is on a comparable scale across channels.
        avg(channel_days.spend) over (
            partition by channel_days.channel
            order by channel_days.spend_date rows between 364 preceding and current row
        ) as spend_scale_365d
    from channel_days
    inner join adstock
        on
            channel_days.channel = adstock.channel
            and channel_days.spend_date = adstock.spend_date
    left join new_customers
        on
            channel_days.channel = new_customers.channel
            and channel_days.spend_date = new_customers.signup_date
)

select * from final
where {{ in_rebuild_window('spend_date') }}

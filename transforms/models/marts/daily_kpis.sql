-- Daily KPIs per department in long format (one row per day and KPI), with trailing
-- statistics for each KPI: rolling means, lags, a trend, a weekly seasonality index and a
-- robust-z anomaly flag. Every statistic of day d uses only values of days up to d (the
-- anomaly baseline uses the 28 days before d), so rows never change when later data arrives.
with

kpi_values as (
    select * from {{ ref('int_daily_kpi_values') }}
),

windowed as (
    select
        kpi_date,
        department,
        kpi,
        kpi_value,
        avg(kpi_value) over (
            partition by kpi order by kpi_date rows between 6 preceding and current row
        ) as rolling_mean_7d,
        avg(kpi_value) over (
            partition by kpi order by kpi_date rows between 27 preceding and current row
        ) as rolling_mean_28d,
        lag(kpi_value, 7) over (partition by kpi order by kpi_date) as lag_7d,
        lag(kpi_value, 28) over (partition by kpi order by kpi_date) as lag_28d,
        lag(kpi_value, 364) over (partition by kpi order by kpi_date) as lag_364d,
        regr_slope(kpi_value, kpi_date - date '2000-01-01') over (
            partition by kpi order by kpi_date rows between 27 preceding and current row
        ) as trend_slope_28d,
        -- Same weekday over the last 8 weeks, against all days of those 8 weeks.
        avg(kpi_value) over (
            partition by kpi, isodow(kpi_date)
            order by kpi_date rows between 7 preceding and current row
        ) as same_weekday_mean_8w,
        avg(kpi_value) over (
            partition by kpi order by kpi_date rows between 55 preceding and current row
        ) as rolling_mean_56d,
        median(kpi_value) over (
            partition by kpi order by kpi_date rows between 28 preceding and 1 preceding
        ) as baseline_median_28d,
        mad(kpi_value) over (
            partition by kpi order by kpi_date rows between 28 preceding and 1 preceding
        ) as baseline_mad_28d,
        count(kpi_value) over (
            partition by kpi order by kpi_date rows between 28 preceding and 1 preceding
        ) as baseline_days
    from kpi_values
),

final as (
    select
        kpi_date,
        department,
        kpi,
        kpi_value,
        rolling_mean_7d,
        rolling_mean_28d,
        lag_7d,
        lag_28d,
        lag_364d,
        case when not isnan(trend_slope_28d) then trend_slope_28d end as trend_slope_28d,
        same_weekday_mean_8w / nullif(rolling_mean_56d, 0) as weekly_seasonality_index,
        baseline_median_28d,
        baseline_mad_28d,
        case
            when baseline_days >= 14 and baseline_mad_28d > 0
                then (kpi_value - baseline_median_28d) / (1.4826 * baseline_mad_28d)
        end as robust_z,
        coalesce(
            baseline_days >= 14
            and baseline_mad_28d > 0
            and abs(kpi_value - baseline_median_28d) / (1.4826 * baseline_mad_28d) > 3.5,
            false
        ) as is_anomaly
    from windowed
)

select * from final
where {{ in_rebuild_window('kpi_date') }}

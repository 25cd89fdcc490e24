-- Which periods (7, 30 and 365 days) are significant in each series: every daily KPI and
-- every demand product-region. The series is first detrended (least-squares line).
-- Decision statistic: an F-test of the phase means. phase_r_squared is the share of the
-- detrended variance explained by the mean of each phase (day index mod period), and
-- F = (R2 / (p - 1)) / ((1 - R2) / (n - p)). The period is significant when F exceeds the 1 %
-- critical value and the series covers at least two periods. The critical value uses
-- (p - 1) * F ~ chi-square(p - 1) with the Wilson-Hilferty approximation (SQL has no F
-- quantile); it is slightly liberal for 365 days on two years of data.
-- Also stored: the autocorrelation at lag = period (of day-over-day changes for 7 and 30
-- days, which removes slow drift; of the detrended level for 365 days) with its white-noise
-- bound 2 / sqrt(n). It is descriptive: a smoothed KPI (cac_30d, a 30-day mean) is
-- autocorrelated at short lags without any weekly pattern. A periodogram or STL would be
-- better and needs Python (statsmodels); this is the SQL-only screen.
with

kpi_values as (
    select * from {{ ref('int_daily_kpi_values') }}
),

demand_series as (
    select * from {{ ref('demand_series') }}
),

series_values as (
    select
        'daily_kpi' as series_type,
        kpi as series_id,
        kpi_date as series_date,
        kpi_value as series_value
    from kpi_values
    union all
    select
        'demand' as series_type,
        series_id,
        order_date as series_date,
        cast(orders as double) as series_value
    from demand_series
),

indexed as (
    select
        series_type,
        series_id,
        series_date,
        series_value,
        series_date - min(series_date) over (partition by series_type, series_id) as day_index
    from series_values
),

trend_fits as (
    select
        series_type,
        series_id,
        count(series_value) as n_obs,
        regr_slope(series_value, day_index) as trend_slope,
        regr_intercept(series_value, day_index) as trend_intercept
    from indexed
    group by series_type, series_id
),

residuals as (
    select
        indexed.series_type,
        indexed.series_id,
        indexed.series_date,
        indexed.day_index,
        indexed.series_value
        - (trend_fits.trend_intercept + trend_fits.trend_slope * indexed.day_index) as residual
    from indexed
    inner join trend_fits
        on
            indexed.series_type = trend_fits.series_type
            and indexed.series_id = trend_fits.series_id
),

residual_changes as (
    select
        *,
        residual - lag(residual) over (
            partition by series_type, series_id order by series_date
        ) as residual_change
    from residuals
),

periods as (
    select unnest([7, 30, 365]) as period_days
),

lagged as (
    select
        residual_changes.series_type,
        residual_changes.series_id,
        periods.period_days,
        residual_changes.residual,
        residual_changes.day_index % periods.period_days as phase,
        case
            when periods.period_days = 365 then residual_changes.residual
            else residual_changes.residual_change
        end as analysed_value,
        lag(
            case
                when periods.period_days = 365 then residual_changes.residual
                else residual_changes.residual_change
            end,
            periods.period_days
        ) over (
            partition by
                residual_changes.series_type, residual_changes.series_id, periods.period_days
            order by residual_changes.series_date
        ) as analysed_value_one_period_before
    from residual_changes
    cross join periods
),

phase_means as (
    select
        series_type,
        series_id,
        period_days,
        phase,
        count(residual) as phase_obs,
        avg(residual) as phase_mean
    from lagged
    group by series_type, series_id, period_days, phase
),

phase_fit as (
    select
        series_type,
        series_id,
        period_days,
        sum(phase_obs * phase_mean * phase_mean) as explained_sum_of_squares
    from phase_means
    group by series_type, series_id, period_days
),

autocorrelations as (
    select
        series_type,
        series_id,
        period_days,
        -- Pairs only: the mean of residuals and of their changes is about zero.
        sum(analysed_value * analysed_value_one_period_before) as lagged_cross_product,
        sum(analysed_value * analysed_value) as analysed_sum_of_squares,
        sum(residual * residual) as residual_sum_of_squares
    from lagged
    group by series_type, series_id, period_days
),

tests as (
    select
        autocorrelations.series_type,
        autocorrelations.series_id,
        autocorrelations.period_days,
        trend_fits.n_obs,
        trend_fits.trend_slope,
        trend_fits.n_obs >= 2 * autocorrelations.period_days as covers_two_periods,
        autocorrelations.lagged_cross_product
        / nullif(autocorrelations.analysed_sum_of_squares, 0) as autocorrelation,
        2 / sqrt(trend_fits.n_obs) as autocorrelation_bound,
        phase_fit.explained_sum_of_squares
        / nullif(autocorrelations.residual_sum_of_squares, 0) as phase_r_squared,
        -- Wilson-Hilferty 99 % quantile of chi-square(k), k = p - 1, divided by k.
        power(
            1
            - 2 / (9.0 * (autocorrelations.period_days - 1))
            + 2.3263 * sqrt(2 / (9.0 * (autocorrelations.period_days - 1))),
            3
        ) as phase_f_critical
    from autocorrelations
    inner join trend_fits
        on
            autocorrelations.series_type = trend_fits.series_type
            and autocorrelations.series_id = trend_fits.series_id
    inner join phase_fit
        on
            autocorrelations.series_type = phase_fit.series_type
            and autocorrelations.series_id = phase_fit.series_id
            and autocorrelations.period_days = phase_fit.period_days
),

final as (
    select
        series_type,
        series_id,
        period_days,
        n_obs,
        trend_slope,
        case when covers_two_periods then phase_r_squared end as phase_r_squared,
        case
            when covers_two_periods
                then
                    (phase_r_squared / (period_days - 1))
                    / nullif((1 - phase_r_squared) / (n_obs - period_days), 0)
        end as phase_f_statistic,
        phase_f_critical,
        case when covers_two_periods then autocorrelation end as autocorrelation,
        autocorrelation_bound,
        coalesce(
            covers_two_periods
            and (phase_r_squared / (period_days - 1))
            / nullif((1 - phase_r_squared) / (n_obs - period_days), 0)
            > phase_f_critical,
            false
        ) as is_significant
    from tests
)

select * from final

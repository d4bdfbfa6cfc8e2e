//! Retention: active (user, day) pairs + each user's cohort (first day, dim country) ->
//! one row per cohort date x country with dN_retained and dN_retention_rate for
//! N in 0, 1, 7, 30, 60, 90; a day not yet observed (cohort date + N after the data's last
//! day) is null, never 0.
//! See: METRICS.md, Retention.

use polars::prelude::*;

use super::MartContext;

pub const DAYS: [i64; 6] = [0, 1, 7, 30, 60, 90];

pub fn columns() -> Vec<String> {
    let mut cols = vec!["cohort_date".to_string(), "country".into(), "cohort_size".into()];
    cols.extend(DAYS.iter().map(|n| format!("d{n}_retained")));
    cols.extend(DAYS.iter().map(|n| format!("d{n}_retention_rate")));
    cols
}

pub fn build(ctx: &MartContext) -> PolarsResult<DataFrame> {
    let cohorts = ctx.users.clone().lazy().select([
        col("user"),
        col("country"),
        col("first_day").alias("cohort"),
    ]);
    let retained = ctx
        .activity
        .clone()
        .lazy()
        .join(
            cohorts.clone(),
            [col("user")],
            [col("user")],
            JoinArgs::new(JoinType::Inner),
        )
        .with_column((col("day") - col("cohort")).alias("n"))
        .group_by([col("cohort"), col("country")])
        .agg(
            DAYS.iter()
                .map(|&n| {
                    col("n")
                        .eq(lit(n))
                        .sum()
                        .cast(DataType::Int64)
                        .alias(format!("r{n}"))
                })
                .collect::<Vec<_>>(),
        );
    let observed = |n: i64| (col("cohort") + lit(n)).lt_eq(lit(ctx.last_day));
    let mut outputs = vec![
        col("cohort")
            .cast(DataType::Int32)
            .cast(DataType::Date)
            .alias("cohort_date"),
        col("country_name").alias("country"),
        col("cohort_size"),
    ];
    for &n in &DAYS {
        outputs.push(
            when(observed(n))
                .then(col(format!("r{n}")).fill_null(lit(0i64)))
                .otherwise(lit(NULL).cast(DataType::Int64))
                .alias(format!("d{n}_retained")),
        );
    }
    for &n in &DAYS {
        outputs.push(
            when(observed(n))
                .then(
                    lit(100.0) * col(format!("r{n}")).fill_null(lit(0i64)).cast(DataType::Float64)
                        / col("cohort_size").cast(DataType::Float64),
                )
                .otherwise(lit(NULL).cast(DataType::Float64))
                .alias(format!("d{n}_retention_rate")),
        );
    }
    cohorts
        .group_by([col("cohort"), col("country")])
        .agg([len().cast(DataType::Int64).alias("cohort_size")])
        .join(
            retained,
            [col("cohort"), col("country")],
            [col("cohort"), col("country")],
            JoinArgs::new(JoinType::Left),
        )
        .join(
            ctx.countries.clone().lazy(),
            [col("country")],
            [col("country")],
            JoinArgs::new(JoinType::Left),
        )
        .select(outputs)
        .sort(["cohort_date", "country"], SortMultipleOptions::default())
        .collect()
}

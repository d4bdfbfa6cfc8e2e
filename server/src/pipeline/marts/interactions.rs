//! Interactions: gold events (with the user's dim country) -> one row per country x
//! event_type x transaction_category with interactions, distinct users, miles and the
//! exact share of the (country, event_type) total.
//! See: METRICS.md, Interactions.

use polars::prelude::*;

use super::MartContext;

pub const COLUMNS: [&str; 7] = [
    "country",
    "event_type",
    "transaction_category",
    "interactions",
    "users",
    "miles",
    "share",
];

pub fn build(ctx: &MartContext) -> PolarsResult<DataFrame> {
    let decode = |lf: LazyFrame, dict: &DataFrame, key: &str| {
        lf.join(
            dict.clone().lazy(),
            [col(key)],
            [col(key)],
            JoinArgs::new(JoinType::Left),
        )
    };
    let grouped = ctx
        .events
        .clone()
        .lazy()
        .group_by([col("country"), col("event_type"), col("category")])
        .agg([
            len().cast(DataType::Int64).alias("interactions"),
            col("user").n_unique().cast(DataType::Int64).alias("users"),
            col("miles").sum().alias("miles"),
        ])
        .with_column(
            (col("interactions").cast(DataType::Float64)
                / col("interactions")
                    .sum()
                    .over([col("country"), col("event_type")])?
                    .cast(DataType::Float64))
            .alias("share"),
        );
    let decoded = decode(grouped, &ctx.countries, "country");
    let decoded = decode(decoded, &ctx.event_types, "event_type");
    decode(decoded, &ctx.categories, "category")
        .select([
            col("country_name").alias("country"),
            col("event_type_name").alias("event_type"),
            col("transaction_category"),
            col("interactions"),
            col("users"),
            col("miles"),
            col("share"),
        ])
        .sort(
            ["country", "event_type", "transaction_category"],
            SortMultipleOptions::default().with_nulls_last(false),
        )
        .collect()
}

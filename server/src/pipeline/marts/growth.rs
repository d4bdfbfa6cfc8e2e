//! Growth accounting: active (user, day) pairs -> one row per period x country with new,
//! retained, resurrected and churned users (wide form, zero-filled gap-free grid).
//!
//! Each user's active periods are sorted; the gap to the previous active period decides
//! the status (none: new, one period: retained, more: resurrected), and a gap after a period
//! makes the user churned in the period right after it, once. The per-user rows are the
//! `user_lifecycle_<grain>` table; the mart is their count.
//! See: METRICS.md, Growth accounting.

use polars::prelude::*;

use super::calendar::{Grain, day_to_ordinal, periods};
use super::MartContext;

pub const NEW: u32 = 0;
pub const RETAINED: u32 = 1;
pub const RESURRECTED: u32 = 2;
pub const CHURNED: u32 = 3;
pub const STATUSES: [&str; 4] = ["new", "retained", "resurrected", "churned"];

pub const COLUMNS: [&str; 10] = [
    "period",
    "country",
    "new_users",
    "retained_users",
    "resurrected_users",
    "churned_users",
    "active_users",
    "growth",
    "quick_ratio",
    "is_complete",
];

/// (user, idx) pairs of the grain: each user's active periods, once each.
fn active_periods(ctx: &MartContext, grain: Grain) -> PolarsResult<LazyFrame> {
    let act = ctx.activity.clone().lazy();
    Ok(match grain {
        Grain::Day => act.select([col("user"), col("day").alias("idx")]),
        _ => act
            .join(
                day_to_ordinal(grain, ctx.first_day, ctx.last_day)?.lazy(),
                [col("day")],
                [col("day")],
                JoinArgs::new(JoinType::Inner),
            )
            .select([col("user"), col("idx")])
            .unique(None, UniqueKeepStrategy::Any),
    })
}

/// One row per user per period in which the user has a status: `idx`, `user`, `status`.
pub fn lifecycle(ctx: &MartContext, grain: Grain) -> PolarsResult<LazyFrame> {
    let last_idx = grain.ordinal(ctx.last_day);
    let ua = active_periods(ctx, grain)?.sort(["user", "idx"], SortMultipleOptions::default());
    // The frame is sorted by user, so neighbours of the same user are the previous and
    // next active periods; a neighbour of another user means there is none.
    let neighbour = |n: i64| {
        when(col("user").shift(lit(n)).eq(col("user")))
            .then(col("idx").shift(lit(n)))
            .otherwise(lit(NULL).cast(DataType::Int64))
    };
    let ua = ua.with_columns([neighbour(1).alias("prev"), neighbour(-1).alias("next")]);
    let active = ua.clone().select([
        col("idx"),
        col("user"),
        when(col("prev").is_null())
            .then(lit(NEW))
            .when(col("prev").eq(col("idx") - lit(1)))
            .then(lit(RETAINED))
            .otherwise(lit(RESURRECTED))
            .alias("status"),
    ]);
    let churned = ua
        .filter(
            (col("next").is_null().or(col("next").gt(col("idx") + lit(1))))
                .and((col("idx") + lit(1)).lt_eq(lit(last_idx))),
        )
        .select([
            (col("idx") + lit(1)).alias("idx"),
            col("user"),
            lit(CHURNED).alias("status"),
        ]);
    concat([active, churned], UnionArgs::default())
}

pub fn build(ctx: &MartContext, grain: Grain) -> PolarsResult<DataFrame> {
    let count = |status: u32, name: &str| {
        col("status")
            .eq(lit(status))
            .sum()
            .cast(DataType::Int64)
            .alias(name)
    };
    let counts = lifecycle(ctx, grain)?
        .join(
            ctx.users.clone().lazy().select([col("user"), col("country")]),
            [col("user")],
            [col("user")],
            JoinArgs::new(JoinType::Inner),
        )
        .group_by([col("idx"), col("country")])
        .agg([
            count(NEW, "new_users"),
            count(RETAINED, "retained_users"),
            count(RESURRECTED, "resurrected_users"),
            count(CHURNED, "churned_users"),
        ]);
    // The gap-free grid: every period x every country with at least one user.
    let grid = periods(grain, ctx.first_day, ctx.last_day)?.lazy().cross_join(
        ctx.users
            .clone()
            .lazy()
            .select([col("country")])
            .unique(None, UniqueKeepStrategy::Any),
        None,
    );
    let n = |c: &str| col(c).fill_null(lit(0i64));
    grid.join(
        counts,
        [col("idx"), col("country")],
        [col("idx"), col("country")],
        JoinArgs::new(JoinType::Left),
    )
    .with_columns([
        n("new_users"),
        n("retained_users"),
        n("resurrected_users"),
        n("churned_users"),
    ])
    .with_columns([
        (col("new_users") + col("retained_users") + col("resurrected_users")).alias("active_users"),
        (col("new_users") + col("resurrected_users") - col("churned_users")).alias("growth"),
        when(col("churned_users").eq(lit(0i64)))
            .then(lit(NULL).cast(DataType::Float64))
            .otherwise(
                (col("new_users") + col("resurrected_users")).cast(DataType::Float64)
                    / col("churned_users").cast(DataType::Float64),
            )
            .alias("quick_ratio"),
    ])
    .join(
        ctx.countries.clone().lazy(),
        [col("country")],
        [col("country")],
        JoinArgs::new(JoinType::Left),
    )
    .with_column(col("country_name").alias("country"))
    .sort(["period", "country"], SortMultipleOptions::default().with_nulls_last(false))
    .select(COLUMNS.map(col))
    .collect()
}

//! Overview: KPI cards for the last complete period (active users, growth, quick ratio)
//! with the change against the period before and a trend line, and the average D7 / D30
//! retention over the cohorts that have reached that day.

use std::sync::Arc;

use leptos::prelude::*;

use super::PageHead;
use crate::charts::colors;
use crate::components::filters::GrainPicker;
use crate::components::kpi::{Kpi, KpiCard};
use crate::components::notice::{Loading, MartProblem};
use crate::data::format;
use crate::data::growth::{Filter, Period, aggregate, kpis};
use crate::data::retention::{cohorts, day_index, pooled_rate};
use crate::marts::{Grain, GrowthRow, MartClient, RetentionRow};
use crate::state::filters::PageFilters;
use contract::Mart;

/// How many periods the trend lines cover.
const TREND: usize = 12;

#[component]
pub fn Overview() -> impl IntoView {
    let filters = PageFilters::new();
    let grain = filters.grain;
    let client = expect_context::<MartClient>();
    let growth = {
        let client = client.clone();
        Resource::new(
            move || grain.get(),
            move |g| client.fetch::<GrowthRow>(Mart::Growth(g).name()),
        )
    };
    let retention = Resource::new(
        || (),
        move |_| client.fetch::<RetentionRow>(Mart::Retention.name()),
    );
    let on_grain = filters.on_grain(&[]);
    let site = expect_context::<crate::SiteConfig>();
    view! {
        <PageHead title="Overview" lead="The last complete period at a glance, against the period before." />
        <div class="filters">
            <GrainPicker value=grain on_change=on_grain />
        </div>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let (growth, retention) = (growth.await, retention.await);
                match (growth, retention) {
                    (Err(e), _) | (_, Err(e)) => view! { <MartProblem error=e /> }.into_any(),
                    (Ok(g), Ok(r)) => view! { <Cards growth=g retention=r grain=grain.get_untracked() /> }.into_any(),
                }
            })}
        </Transition>
        <p class="note">
            "Open "<a href=site.href("growth")>"Growth"</a>
            " for the breakdown, or "<a href=site.href("explore")>"Explore"</a>
            " to combine series from several marts."
        </p>
    }
}

/// The KPI cards' content, from the marts (pure, so it is tested without a browser).
pub fn cards(
    growth: &[GrowthRow],
    retention: &[RetentionRow],
    grain: Grain,
) -> Option<(Period, Vec<Kpi>)> {
    let periods = aggregate(growth, &Filter::default());
    let k = kpis(&periods)?;
    let complete: Vec<&Period> = periods.iter().filter(|p| p.is_complete).collect();
    let mut out = growth_cards(&k.last, k.previous.as_ref(), &complete, grain);
    for day in [7, 30] {
        out.push(retention_card(retention, grain, day)?);
    }
    Some((k.last, out))
}

/// The last [`TREND`] values of `f` over the complete periods.
fn trend(complete: &[&Period], f: fn(&Period) -> f64) -> Vec<f64> {
    complete
        .iter()
        .rev()
        .take(TREND)
        .rev()
        .map(|p| f(p))
        .collect()
}

/// Active users, growth and the quick ratio of the `last` complete period, against the one
/// before it.
fn growth_cards(
    last: &Period,
    prev: Option<&Period>,
    complete: &[&Period],
    grain: Grain,
) -> Vec<Kpi> {
    let noun = grain.name();
    let versus = prev
        .map(|p| format!(" vs {noun} of {}", p.period))
        .unwrap_or_default();
    let active_change =
        prev.and_then(|p| format::change_pct(last.active_users as f64, p.active_users as f64));
    let growth_change = prev.map(|p| last.growth - p.growth);
    let ratio_change = prev.and_then(|p| Some(last.quick_ratio()? - p.quick_ratio()?));
    vec![
        Kpi {
            label: "Active users",
            value: format::count(last.active_users as i64),
            change: active_change.map(|c| format!("{}{versus}", format::signed_percent(c))),
            good: active_change.map(|c| c >= 0.0),
            note: format!("{noun} of {}", last.period),
            trend: trend(complete, |p| p.active_users as f64),
            color: colors::ACTIVE,
        },
        Kpi {
            label: "Growth",
            value: format::signed(last.growth),
            change: growth_change.map(|c| format!("{}{versus}", format::signed(c))),
            good: growth_change.map(|c| c >= 0),
            note: format!(
                "+{} new, +{} resurrected, -{} churned",
                format::count(last.new_users as i64),
                format::count(last.resurrected_users as i64),
                format::count(last.churned_users as i64)
            ),
            trend: trend(complete, |p| p.growth as f64),
            color: colors::NEW,
        },
        Kpi {
            label: "Quick ratio",
            value: format::or_dash(last.quick_ratio(), |q| format!("{q:.2}")),
            change: ratio_change.map(|c| format!("{c:+.2}{versus}")),
            good: ratio_change.map(|c| c >= 0.0),
            note: if last.churned_users == 0 {
                "(new + resurrected) / churned: nobody churned, so no ratio".into()
            } else {
                "(new + resurrected) / churned".into()
            },
            trend: trend(complete, |p| p.quick_ratio().unwrap_or(f64::NAN)),
            color: colors::RATIO,
        },
    ]
}

/// The day-`day` retention pooled over every cohort that reached it, with the change of
/// the latest `grain` cohorts against those of the period before; `None` for a day that is
/// not one of `RETENTION_DAYS`.
fn retention_card(retention: &[RetentionRow], grain: Grain, day: u32) -> Option<Kpi> {
    let noun = grain.name();
    let i = day_index(day)?;
    let all = cohorts(retention, Grain::Day, |_| true);
    let by_period = cohorts(retention, grain, |_| true);
    let observed: Vec<f64> = by_period.iter().filter_map(|c| c.rate(i)).collect();
    let (latest, before) = (
        observed.last().copied(),
        observed.len().checked_sub(2).map(|j| observed[j]),
    );
    let change = latest.zip(before).map(|(a, b)| a - b);
    Some(Kpi {
        label: if day == 7 {
            "D7 retention"
        } else {
            "D30 retention"
        },
        value: format::or_dash(pooled_rate(&all, i).map(|r| r.0), format::percent),
        change: change
            .map(|c| format!("{c:+.1} pts, latest {noun}'s cohorts vs the {noun} before")),
        good: change.map(|c| c >= 0.0),
        note: match pooled_rate(&all, i) {
            Some((_, n)) => format!(
                "over the {} cohorts that reached day {day}",
                format::count(n as i64)
            ),
            None => format!("no cohort has reached day {day} yet"),
        },
        trend: observed.iter().rev().take(TREND).rev().copied().collect(),
        color: colors::RETAINED,
    })
}

#[component]
fn Cards(
    growth: Arc<Vec<GrowthRow>>,
    retention: Arc<Vec<RetentionRow>>,
    grain: Grain,
) -> impl IntoView {
    let Some((last, kpis)) = cards(&growth, &retention, grain) else {
        return view! {
            <div class="problem" role="status">
                <h2>"No complete period yet"</h2>
                <p>{format!("The data does not cover a whole {} yet; pick a shorter grain or load more events.", grain.name())}</p>
            </div>
        }
        .into_any();
    };
    let incomplete = growth
        .iter()
        .filter(|r| !r.is_complete)
        .map(|r| r.period.clone())
        .max();
    view! {
        <p class="period-note">
            {format!("Last complete {}: {}.", grain.name(), last.period)}
            {incomplete.map(|p| format!(" The {} of {p} is still in progress and not counted here.", grain.name()))}
        </p>
        <div class="kpis">{kpis.into_iter().map(|kpi| view! { <KpiCard kpi /> }).collect_view()}</div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::fixtures::{growth, retention};

    #[test]
    fn cards_read_the_last_complete_period_against_the_one_before() {
        let growth = [
            growth("2025-03-01", "SG", 10, 0, true),
            growth("2025-03-02", "SG", 12, 4, true),
            growth("2025-03-03", "SG", 99, 0, false),
        ];
        let retention = [
            retention("2025-03-01", "SG", 10, Some(5)),
            retention("2025-03-02", "SG", 10, Some(2)),
        ];
        let (last, kpis) = cards(&growth, &retention, Grain::Day).unwrap();
        assert_eq!(last.period, "2025-03-02");
        let labels: Vec<&str> = kpis.iter().map(|k| k.label).collect();
        assert_eq!(
            labels,
            [
                "Active users",
                "Growth",
                "Quick ratio",
                "D7 retention",
                "D30 retention"
            ]
        );
        assert_eq!(kpis[0].value, "12");
        assert_eq!(
            kpis[0].change.as_deref(),
            Some("+20.0% vs day of 2025-03-01")
        );
        assert_eq!(kpis[1].value, "+8");
        assert_eq!(kpis[2].value, "3.00");
        assert_eq!(
            kpis[2].change, None,
            "no ratio the day before: nobody churned"
        );
        // 7 of 20 users, pooled; the latest cohort (20%) against the one before (50%).
        assert_eq!(kpis[3].value, "35.0%");
        assert_eq!(kpis[3].good, Some(false));
        assert_eq!(kpis[4].value, format::DASH);
        assert_eq!(kpis[4].note, "no cohort has reached day 30 yet");
        assert_eq!(kpis[0].trend, [10.0, 12.0]);
    }
}

//! Building blocks shared by the pages: navigation, filters, KPI cards, problem notices.

pub mod drill;
pub mod filters;
pub mod kpi;
pub mod nav;
pub mod notice;
